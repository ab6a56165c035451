"""`python -m crfm_eval` (or `crfm-eval`): compose a run from Hydra config groups and evaluate it."""

import logging
import sys

import hydra
from omegaconf import DictConfig

from crfm_eval.config_schema import register_schema, run_spec_from_config
from crfm_eval.errors import UserError
from crfm_eval.sweeps.job import run_job

log = logging.getLogger("crfm_eval")

register_schema()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def hydra_main(config: DictConfig) -> None:
    try:
        run_job(run_spec_from_config(config))
    except UserError as error:
        log.error("%s", error)
        sys.exit(1)


def main() -> None:
    hydra_main()


if __name__ == "__main__":
    main()
