"""`python -m crfm_eval` (or `crfm-eval`): compose a run from Hydra config groups and evaluate it.

The packaged config groups come first; a folder of your own adds to them or replaces some:
`python -m crfm_eval --config-dir my_configs model=my-model` (see the README).

`python -m crfm_eval export --format helm|lm-eval RUN_DIR OUT_DIR` exports a finished run instead
(crfm_eval/export/cli.py).
"""

import sys

from crfm_eval.cli_help import answer_bare_help
from crfm_eval.conf_location import conf_dir

# Before Hydra is imported: a bare `--help` is answered in ~0.1 s instead of 1-2 s (see cli_help).
answer_bare_help(sys.argv[1:], conf_dir())

import logging  # noqa: E402

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from crfm_eval.config_schema import register_schema, run_spec_from_config  # noqa: E402
from crfm_eval.errors import UserError  # noqa: E402
from crfm_eval.redaction import (  # noqa: E402
    hide_command_line_secrets,
    protect_terminal,
    register_environment_secrets,
    register_secret,
)

log = logging.getLogger("crfm_eval")

register_schema()


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def hydra_main(config: DictConfig) -> None:
    # Imported here, not at the top: `--help`, `--cfg` and a bad override need none of the run's
    # machinery (scipy, model clients), and importing it first doubled the start-up time.
    from crfm_eval.sweeps.job import run_job

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
    # `crfm_eval export ...` is a plain command, not a Hydra run: hand it over before Hydra parses.
    if sys.argv[1:2] == ["export"]:
        from crfm_eval.export.cli import main as export_main

        sys.exit(export_main(sys.argv[2:]))
    # Before Hydra reads the command line: a key given there must not reach its records of it.
    sys.argv[1:] = hide_command_line_secrets(sys.argv[1:])
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
