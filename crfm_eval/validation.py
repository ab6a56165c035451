"""Values a run cannot use stop it before anything runs, in one sentence naming the key and the range.

The ranges are field metadata of the specs (`crfm_eval/specs.py`); this module walks a RunSpec and
checks each one. Hydra creates the run folder and its log file before the job function starts, so
`ValidateBeforeRun` (a Hydra callback, conf/config.yaml) checks the composed config of a run, or of
every job of a sweep, before Hydra writes anything.
"""

import dataclasses
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from crfm_eval.errors import UserError

FOLDER_NAME = re.compile(r"[A-Za-z0-9._=,+~-]+")
"""Characters of a folder name that is the same on every file system (see `config_schema.path_safe`)."""

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def validate(spec: Any, prefix: str = "") -> None:
    """Raise UserError for the first value of `spec` (a RunSpec, or any spec) outside its range."""
    for spec_field in dataclasses.fields(spec):
        key = f"{prefix}{spec_field.name}"
        value = getattr(spec, spec_field.name)
        if dataclasses.is_dataclass(value):
            validate(value, f"{key}.")
        elif isinstance(value, list) and value and all(dataclasses.is_dataclass(item) for item in value):
            for index, item in enumerate(value):
                validate(item, f"{key}[{index}].")
        else:
            check_value(key, value, spec_field.metadata)


def check_value(key: str, value: Any, rules: Any) -> None:
    """Check one value against the rules of its field's metadata."""
    if value is None:
        return  # None is a type question (Optional or not), settled when the config is composed
    minimum, maximum = rules.get("minimum"), rules.get("maximum")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if maximum is not None and not minimum <= value <= maximum:
            raise UserError(f"{key} must be between {minimum} and {maximum} (got {value}).")
        if minimum is not None and value < minimum:
            nullable = ", or null for every instance" if key == "max_eval_instances" else ""
            raise UserError(f"{key} must be at least {minimum}{nullable} (got {value}).")
    if rules.get("not_empty") and not value:
        raise UserError(f"{key} must list at least one item (got {value}).")
    if rules.get("folder_name") and (not FOLDER_NAME.fullmatch(value) or set(value) == {"."}):
        raise UserError(
            f"{key} must be one folder name of letters, digits and . _ - = , + ~ (got {value!r}); "
            "it cannot be a path such as ../x."
        )
    if rules.get("writable_dir"):
        check_writable_dir(key, value)


def check_writable_dir(key: str, value: str) -> None:
    """`value` is a folder that exists or can be created, and can be written to; nothing is left behind."""
    path = Path(value).expanduser().absolute()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{key}={value} cannot be created: {existing} is a file, not a folder; choose another {key}.")
    try:
        # A folder made and removed at once: the one test that holds for root, read-only mounts
        # and virtual file systems alike (os.access says yes to root under /proc).
        os.rmdir(tempfile.mkdtemp(prefix=".crfm_eval-write-check-", dir=existing))
    except OSError as error:
        raise UserError(
            f"{key}={value} cannot be created or written in {existing} ({error.strerror}); choose another {key}."
        ) from None


def check_config(config: DictConfig) -> None:
    """Build the RunSpec of a composed config and check its values (raises UserError)."""
    from crfm_eval.config_schema import run_spec_from_config  # the schema imports this module

    run_spec_from_config(config)


def sweep_job_overrides(config: DictConfig) -> list[list[str]]:
    """The overrides of every job of a sweep run by Hydra's basic sweeper, as it will split them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    arguments = list(config.hydra.overrides.task)
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()] + arguments
    parsed = OverridesParser.create().parse_overrides(arguments)
    batches = BasicSweeper.split_arguments(parsed, None)
    return [list(job) for batch in batches for job in batch]


class ValidateBeforeRun(Callback):
    """Checks every run's values before Hydra creates a folder, a log file or multirun.yaml."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _stop_on_user_error(lambda: check_config(config))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if OmegaConf.select(config, "hydra.sweeper._target_") != BASIC_SWEEPER:
            return  # another sweeper chooses its jobs itself: each job checks its values when it starts
        loader = GlobalHydra.instance().config_loader()

        def check_every_job() -> None:
            for overrides in sweep_job_overrides(config):
                check_config(loader.load_sweep_config(config, overrides))

        _stop_on_user_error(check_every_job)


def _stop_on_user_error(check: Any) -> None:
    try:
        check()
    except UserError as error:
        # Printed, not logged: the job's logging (and its log file) does not exist yet, by design.
        print(error, file=sys.stderr)
        raise SystemExit(1) from None  # SystemExit passes through Hydra's error handler: no traceback
