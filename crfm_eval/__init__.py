"""crfm_eval: evaluate language models from Hydra configs into reproducible statistics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crfm_eval")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
