"""Registers the specs as Hydra structured configs and turns a composed config back into a RunSpec.

OmegaConf marks the nodes of a frozen dataclass read-only, and then Hydra cannot merge a group's
YAML or a command-line override into them. So Hydra gets a mutable twin of each spec (same fields,
types and defaults) for validation, and the frozen spec is built from the composed config.
"""

import dataclasses
import functools
import re
import typing
from typing import Any

import dacite
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from crfm_eval.specs import RunSpec

SCHEMA_NAME = "run_spec_schema"


@functools.cache
def mutable_twin(spec_class: type) -> type:
    """A non-frozen dataclass with the fields, types and defaults of `spec_class`."""
    hints = typing.get_type_hints(spec_class)
    fields = []
    for spec_field in dataclasses.fields(spec_class):
        field_type = hints[spec_field.name]
        if dataclasses.is_dataclass(field_type):
            field_type = mutable_twin(field_type)
        fields.append(
            (
                spec_field.name,
                field_type,
                dataclasses.field(default=spec_field.default, default_factory=spec_field.default_factory),
            )
        )
    twin = dataclasses.make_dataclass(spec_class.__name__, fields)
    # Launchers that run jobs in other processes (joblib, submitit) pickle the config store. A class
    # made at run time would be pickled by value, and `dataclasses.MISSING` would not survive the
    # trip (a field without default would get a bogus one): publish the twin under this module so
    # that it is pickled by reference, and importing this module defines it again.
    # Its __name__ stays the spec's, which OmegaConf's messages show.
    twin.__module__ = __name__
    twin.__qualname__ = f"{spec_class.__name__}Twin"
    globals()[twin.__qualname__] = twin
    return twin


def path_safe(text: str) -> str:
    """`text` usable as one folder name: `openai/gpt-4o` becomes `openai--gpt-4o`."""
    return re.sub(r"[^A-Za-z0-9._=,+-]+", "--", text)


def register_schema() -> None:
    """Make the RunSpec schema available as `run_spec_schema`, and the resolvers the configs use."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=mutable_twin(RunSpec))
    if not OmegaConf.has_resolver("path_safe"):
        OmegaConf.register_new_resolver("path_safe", path_safe)


mutable_twin(RunSpec)  # defines every twin at import time, so that unpickling finds them


def run_spec_from_config(config: DictConfig) -> RunSpec:
    """The frozen RunSpec of a composed (and already validated) Hydra config."""
    data: Any = OmegaConf.to_container(config, resolve=True, throw_on_missing=True)
    return dacite.from_dict(RunSpec, data, config=dacite.Config(strict=True))
