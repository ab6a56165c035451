"""The manifest: which code, libraries and settings produced a run, and what it cost."""

import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Optional

import crfm_eval

KEY_LIBRARIES = ("hydra-core", "omegaconf", "sqlitedict", "scipy", "requests", "openai", "ai21", "llama-cpp-python")


def _git(*args: str) -> Optional[str]:
    source_dir = Path(crfm_eval.__file__).resolve().parent
    try:
        completed = subprocess.run(
            ["git", "-C", str(source_dir), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None  # not a git checkout (an installed wheel), or no git on the machine
    return completed.stdout.strip()


def _library_versions() -> dict[str, Optional[str]]:
    versions: dict[str, Optional[str]] = {}
    for name in KEY_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def build_manifest(seed: int, wall_time_seconds: float, counts: dict[str, int]) -> dict[str, Any]:
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "package_version": crfm_eval.__version__,
        "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "library_versions": _library_versions(),
        "seed": seed,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time_seconds": wall_time_seconds,
        **counts,
    }
