"""`python -m crfm_eval` (or `crfm-eval`): compose a run from Hydra config groups and evaluate it.

`python -m crfm_eval export --format helm|lm-eval RUN_DIR OUT_DIR` exports a finished run instead
(crfm_eval/export/cli.py).
"""

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from crfm_eval.config_schema import register_schema, run_spec_from_config
from crfm_eval.errors import UserError
from crfm_eval.redaction import register_secret
from crfm_eval.sweeps.job import run_job

log = logging.getLogger("crfm_eval")

register_schema()
# A key given on the command line must not reach a log line (Hydra's sweep log prints overrides).
for argument in sys.argv[1:]:
    if "api_key=" in argument:
        register_secret(argument.split("api_key=", 1)[1])


# An absolute path: Hydra resolves a relative one against the calling module, which differs
# between `python -m crfm_eval` and the `crfm-eval` console script.
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def hydra_main(config: DictConfig) -> None:
    try:
        run_spec = run_spec_from_config(config)
        register_secret(run_spec.execution.api_key)
        run_job(run_spec)
    except UserError as error:
        log.error("%s", error)
        sys.exit(1)


def main() -> None:
    # `crfm_eval export ...` is a plain command, not a Hydra run: hand it over before Hydra parses.
    if sys.argv[1:2] == ["export"]:
        from crfm_eval.export.cli import main as export_main

        sys.exit(export_main(sys.argv[2:]))
    hydra_main()


if __name__ == "__main__":
    main()
