"""What the benchmarks share: where the data is, the machine's load, and the BoolQ run most of them time."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def default_data_dir() -> str:
    """$CRFM_EVAL_DATA_DIR, else ../shared/data beside the checkout (or beside a worktree's parent)."""
    candidates = [REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"]
    found = next((path for path in candidates if (path / "boolq" / "dev.jsonl").exists()), candidates[0])
    return os.environ.get("CRFM_EVAL_DATA_DIR", str(found))


def load() -> str:
    """The load average, printed beside every figure: the machine may be shared."""
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def boolq_simple_command(data_dir: str, output_dir: str | Path, *overrides: str) -> list[str]:
    """`python -m crfm_eval` on BoolQ's whole dev set (3,270 instances), 5-shot, the simple model."""
    return [
        sys.executable,
        "-m",
        "crfm_eval",
        "scenario=boolq",
        "adaptation=5shot",
        "model=simple",
        "max_eval_instances=null",
        f"data_dir={data_dir}",
        f"output_dir={output_dir}",
        *overrides,
    ]
