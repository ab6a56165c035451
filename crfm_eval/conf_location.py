"""Where the packaged config groups are, without importing Hydra (a bare `--help` needs only this)."""

from pathlib import Path


def conf_dir() -> Path:
    """The packaged config groups: `crfm_eval/conf` in an installed wheel, `conf/` in a checkout.

    The repository keeps `conf/` at its top level (the layout users know); the wheel ships it as
    `crfm_eval/conf` (setup.py maps it). A file path, not `pkg://`, so that a checkout put first on
    PYTHONPATH uses its own configs even when another copy is installed.
    """
    package = Path(__file__).resolve().parent
    installed = package / "conf"
    return installed if installed.is_dir() else package.parent / "conf"
