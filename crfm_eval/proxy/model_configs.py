"""The models a proxy serves: every model config of a folder (by default the packaged conf/model)."""

from pathlib import Path

from omegaconf import OmegaConf

from crfm_eval.config_schema import conf_dir, mutable_twin
from crfm_eval.errors import UserError
from crfm_eval.json_io import from_jsonable
from crfm_eval.specs import ModelSpec

DEFAULT_MODELS_DIR = conf_dir() / "model"


def load_model_specs(models_dir: Path) -> list[ModelSpec]:
    """Each YAML file is checked against ModelSpec as Hydra would; `${model.x}` refers to the file."""
    files = sorted(models_dir.glob("*.yaml"))
    if not files:
        raise UserError(f"{models_dir} holds no model config (*.yaml); point --models-dir at conf/model.")
    specs = []
    for path in files:
        try:
            typed = OmegaConf.merge(OmegaConf.structured(mutable_twin(ModelSpec)), OmegaConf.load(path))
            container = OmegaConf.to_container(OmegaConf.create({"model": typed}), resolve=True)
            assert isinstance(container, dict)
            data = container["model"]
        except Exception as error:  # OmegaConf's errors name the key and the problem
            raise UserError(f"{path} is not a valid model config ({error}).") from None
        specs.append(from_jsonable(ModelSpec, data))
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise UserError(f"Two model configs in {models_dir} share a name; names: {', '.join(names)}.")
    return specs
