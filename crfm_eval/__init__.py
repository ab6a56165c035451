"""crfm_eval: evaluate language models from Hydra configs into reproducible statistics."""

from typing import Any


def __getattr__(name: str) -> Any:
    """`__version__`, looked up on first use: importlib.metadata costs ~25 ms of every start-up."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crfm_eval")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
