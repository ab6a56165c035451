"""Registers the specs as Hydra structured configs and turns a composed config back into a RunSpec.

OmegaConf marks the nodes of a frozen dataclass read-only, and then Hydra cannot merge a group's
YAML or a command-line override into them. So Hydra gets a mutable twin of each spec (same fields,
types and defaults) for validation, and the frozen spec is built from the composed config.

The default `run_name` is the `${crfm_eval.run_name:}` resolver: Hydra resolves it to name the run
folder before it creates it, so the name can hold every setting that tells this run apart from the
defaults of its config groups (`crfm_eval.runner.identity`).
"""

import dataclasses
import functools
import json
import os
import typing
from pathlib import Path
from typing import Any, Optional

import dacite
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from crfm_eval.conf_location import conf_dir
from crfm_eval.errors import UserError
from crfm_eval.runner.identity import path_safe, run_name
from crfm_eval.specs import RunSpec
from crfm_eval.validation import validate

SCHEMA_NAME = "run_spec_schema"
RUN_NAME_RESOLVER = "crfm_eval.run_name"
RUNS_FOLDER_RESOLVER = "crfm_eval.runs_folder"
_NAME_PLACEHOLDER = "-"
"""What `run_name` holds while the settings that make the name are read (breaks the recursion)."""


@functools.cache
def mutable_twin(spec_class: type) -> type:
    """A non-frozen dataclass with the fields, types and defaults of `spec_class`."""
    hints = typing.get_type_hints(spec_class)
    fields = []
    for spec_field in dataclasses.fields(spec_class):
        field_type = hints[spec_field.name]
        default_factory: Any = spec_field.default_factory
        if isinstance(field_type, type) and dataclasses.is_dataclass(field_type):
            if default_factory is field_type:  # a nested spec with its defaults: the twin's defaults
                default_factory = mutable_twin(field_type)
            field_type = mutable_twin(field_type)
        elif typing.get_origin(field_type) is dict:
            # A dict of specs (RunSpec.metric): its values need twins too, or OmegaConf makes them
            # read-only and no metric set (`metric=[calibration]`) can be merged into them.
            key_type, value_type = typing.get_args(field_type)
            if isinstance(value_type, type) and dataclasses.is_dataclass(value_type):
                field_type = dict.__class_getitem__((key_type, mutable_twin(value_type)))
        fields.append(
            (
                spec_field.name,
                field_type,
                dataclasses.field(default=spec_field.default, default_factory=default_factory),
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


def register_schema() -> None:
    """Make the RunSpec schema available as `run_spec_schema`, and the resolvers the configs use."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=mutable_twin(RunSpec))
    if not OmegaConf.has_resolver("path_safe"):
        OmegaConf.register_new_resolver("path_safe", path_safe)
    if not OmegaConf.has_resolver(RUN_NAME_RESOLVER):
        OmegaConf.register_new_resolver(RUN_NAME_RESOLVER, _automatic_run_name)
    if not OmegaConf.has_resolver(RUNS_FOLDER_RESOLVER):
        OmegaConf.register_new_resolver(RUNS_FOLDER_RESOLVER, runs_folder)


def runs_folder(dry_run: Any) -> str:
    """The folder of Hydra's job folders under `output_dir`: `runs`, or `dry_runs` for a dry run, whose
    Hydra log must not make a run folder."""
    return "dry_runs" if str(dry_run).lower() == "true" else "runs"


mutable_twin(RunSpec)  # defines every twin at import time, so that unpickling finds them


def run_spec_from_config(config: DictConfig) -> RunSpec:
    """The frozen, checked RunSpec of a composed config (with or without its `hydra` node).

    Raises UserError, naming the key and the allowed range, for a value the run cannot use."""
    run_spec = _unchecked_run_spec(config)
    validate(run_spec)
    return run_spec


def _unchecked_run_spec(config: DictConfig) -> RunSpec:
    data: dict[str, Any] = {}
    for key in config:
        if key == "hydra":
            continue  # Hydra's own node (present when composed with return_hydra_config=True)
        node = config._get_node(key)
        if OmegaConf.is_config(node):
            data[str(key)] = OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
        else:
            data[str(key)] = config[key]
    # One folder, however it is spelled: `../shared/data` and `/work/shared/data` are one run.
    data["data_dir"] = os.path.abspath(os.path.expanduser(str(data["data_dir"])))
    return dacite.from_dict(RunSpec, data, config=dacite.Config(strict=True))


def _without_name(config: DictConfig) -> RunSpec:
    """The RunSpec of `config` with a placeholder run name (the settings the name is made of)."""
    # Only the run's keys are copied: Hydra's own node is large, and the run's values do not refer to it.
    copied = OmegaConf.masked_copy(config, [str(key) for key in config if key != "hydra"])
    with read_write(copied), open_dict(copied):
        copied.run_name = _NAME_PLACEHOLDER
    return _unchecked_run_spec(copied)


def _hydra_node(root: DictConfig) -> Optional[DictConfig]:
    if "hydra" in root:
        return root.hydra
    if HydraConfig.initialized():
        node = HydraConfig.get()  # typed as the HydraConf dataclass; a DictConfig at run time
        assert isinstance(node, DictConfig)
        return node
    return None


_names: dict[tuple[Any, ...], str] = {}
"""Names already computed in this process, by everything that determines the composed config: Hydra
resolves `run_name` several times per run (to check it, to make the folder, in the job)."""


def _automatic_run_name(*, _root_: DictConfig) -> str:
    hydra_node = _hydra_node(_root_)
    if hydra_node is None or not GlobalHydra.instance().is_initialized():
        raise UserError("The automatic run_name needs Hydra's config (compose with return_hydra_config=True).")
    task_overrides = tuple(hydra_node.overrides.task)
    hydra_overrides = tuple(hydra_node.overrides.hydra)
    config_name = str(hydra_node.job.config_name)
    sources = json.dumps(OmegaConf.to_container(hydra_node.runtime.config_sources), sort_keys=True)
    # The reference depends on the same inputs as the run: the search path, the folder (data_dir is
    # made absolute) and the environment (`${oc.env:...}` defaults).
    context = (sources, os.getcwd(), frozenset(os.environ.items()))
    key = (config_name, hydra_overrides, task_overrides, context)
    if key not in _names:
        choices = OmegaConf.to_container(hydra_node.runtime.choices)
        assert isinstance(choices, dict)
        parsed = OverridesParser.create().parse_overrides(list(task_overrides))
        group_overrides = tuple(override.input_line for override in parsed if override.key_or_group in choices)
        actual = _without_name(_root_)
        if len(group_overrides) == len(parsed):  # no key override: the groups' defaults, nothing to append
            reference = actual
        else:
            reference = _reference_spec(config_name, hydra_overrides, group_overrides, context)
        if len(_names) > 1024:
            _names.clear()
        _names[key] = run_name(actual, reference)
    return _names[key]


@functools.lru_cache(maxsize=64)
def _reference_spec(
    config_name: str, hydra_overrides: tuple[str, ...], group_overrides: tuple[str, ...], context: tuple[Any, ...]
) -> RunSpec:
    """The RunSpec the same config groups give without any key override, in the same `context`
    (search path, folder, environment: part of the cache key only)."""
    loader = GlobalHydra.instance().config_loader()
    config = loader.load_configuration(
        config_name=config_name, overrides=[*hydra_overrides, *group_overrides], run_mode=RunMode.RUN
    )
    return _without_name(config)


def compose_run_spec(*overrides: str, config_dir: Optional[Path] = None) -> RunSpec:
    """The RunSpec that `python -m crfm_eval OVERRIDES` would run, composed with Hydra's compose API."""
    from hydra import compose, initialize_config_dir

    register_schema()
    with initialize_config_dir(config_dir=str(config_dir or conf_dir()), version_base="1.3"):
        return run_spec_from_config(compose(config_name="config", overrides=list(overrides), return_hydra_config=True))
