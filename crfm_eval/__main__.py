"""`python -m crfm_eval` (or `crfm-eval`): compose a run from Hydra config groups and evaluate it."""

import sys
from pathlib import Path

from crfm_eval.cli_help import answer_bare_help

# An absolute path: Hydra resolves a relative one against the calling module, which differs
# between `python -m crfm_eval` and the `crfm-eval` console script.
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")

# Before Hydra is imported: a bare `--help` is answered in ~0.2 s instead of 1-2 s (see cli_help).
answer_bare_help(sys.argv[1:], Path(CONF_DIR))

import logging  # noqa: E402

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from crfm_eval.config_schema import register_schema, run_spec_from_config  # noqa: E402
from crfm_eval.errors import UserError  # noqa: E402
from crfm_eval.redaction import register_secret  # noqa: E402

log = logging.getLogger("crfm_eval")

register_schema()
# A key given on the command line must not reach a log line (Hydra's sweep log prints overrides).
for argument in sys.argv[1:]:
    if "api_key=" in argument:
        register_secret(argument.split("api_key=", 1)[1])


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def hydra_main(config: DictConfig) -> None:
    # Imported here, not at the top: `--help`, `--cfg` and a bad override need none of the run's
    # machinery (scipy, model SDKs), and importing it first doubled the start-up time.
    from crfm_eval.sweeps.job import run_job

    try:
        run_spec = run_spec_from_config(config)
        register_secret(run_spec.execution.api_key)
        run_job(run_spec)
    except UserError as error:
        log.error("%s", error)
        sys.exit(1)


def main() -> None:
    try:
        hydra_main()
    except KeyboardInterrupt:
        # Ctrl-C outside a run (start-up, or a launcher waiting for its job processes); a run
        # interrupted in this process has already said what it kept, in one line, and exited.
        print(
            "Interrupted: finished requests are in the cache and complete runs are kept "
            "(summary.json of the suite lists them); run the same command again to resume.",
            file=sys.stderr,
        )
        sys.exit(130)


if __name__ == "__main__":
    main()
