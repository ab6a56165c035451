"""`crfm_eval export --format helm|lm-eval RUN_DIR OUT_DIR`: write a finished run in another tool's layout.

Also `python -m crfm_eval.export ...`. Mistakes end in one sentence and exit status 1.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional

from hydra.utils import get_method

from crfm_eval.errors import UserError
from crfm_eval.export import EXPORTERS

log = logging.getLogger("crfm_eval.export")


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="crfm_eval export",
        description="Write a finished run folder in HELM's or lm-evaluation-harness's output layout.",
    )
    command.add_argument("--format", required=True, choices=sorted(EXPORTERS), help="whose layout to write")
    command.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder, e.g. outputs/runs/default/<run>")
    command.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="where to write (created if missing)")
    command.add_argument("--task", help="lm-eval: the task name (default: the scenario's name)")
    return command


def main(argv: Optional[list[str]] = None) -> int:
    arguments = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    options = {"task": arguments.task} if arguments.format == "lm-eval" else {}
    if arguments.task and arguments.format != "lm-eval":
        log.error("--task applies to --format lm-eval only; leave it out for --format %s.", arguments.format)
        return 1
    try:
        written = get_method(EXPORTERS[arguments.format])(arguments.run_dir, arguments.out_dir, **options)
    except UserError as error:
        log.error("%s", error)
        return 1
    for path in written:
        log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
