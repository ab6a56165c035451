"""`python -m crfm_eval` (or `crfm-eval`): compose a run from Hydra config groups and evaluate it.

The packaged config groups come first; a folder of your own adds to them or replaces some:
`python -m crfm_eval --config-dir my_configs model=my-model` (see the README).
"""

import logging
import sys

import hydra
from omegaconf import DictConfig

from crfm_eval.config_schema import conf_dir, register_schema, run_spec_from_config
from crfm_eval.errors import UserError
from crfm_eval.redaction import (
    hide_command_line_secrets,
    protect_terminal,
    register_environment_secrets,
    register_secret,
)
from crfm_eval.sweeps.job import run_job

log = logging.getLogger("crfm_eval")

register_schema()


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def hydra_main(config: DictConfig) -> None:
    # A job may run in another process (joblib, submitit): it protects its own terminal and logs.
    protect_terminal()
    register_environment_secrets()
    try:
        run_spec = run_spec_from_config(config)
        register_secret(run_spec.execution.api_key)
        run_job(run_spec)
    except UserError as error:
        log.error("%s", error)
        sys.exit(1)


def main() -> None:
    protect_terminal()
    register_environment_secrets()
    # Before Hydra reads the command line: a key given there must not reach its records of it.
    sys.argv[1:] = hide_command_line_secrets(sys.argv[1:])
    hydra_main()


if __name__ == "__main__":
    main()
