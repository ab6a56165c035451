"""Shared fixtures: the real data sets in ../shared/data, and running the CLI as a user would."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from data_server import file_server, online  # noqa: F401 (fixtures: a local HTTP file server; downloads allowed)

from crfm_eval.metrics import helper_process

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
SHARED_DATA = Path(os.environ.get("CRFM_EVAL_TEST_DATA", REPO.parent / "shared" / "data")).resolve()
SHARED_FIXTURES = Path(os.environ.get("CRFM_EVAL_TEST_FIXTURES", SHARED_DATA.parent / "fixtures")).resolve()

# Nothing a test runs may reach the internet: data must come from SHARED_DATA or a local server.
os.environ["CRFM_EVAL_OFFLINE"] = "1"


@pytest.fixture
def fresh_helper(monkeypatch: pytest.MonkeyPatch) -> Iterator[helper_process.HelperProcess]:
    """A helper process (metrics/helper_process.py) of the test's own, started with the environment
    the test sets, and closed after it."""
    monkeypatch.setattr(helper_process, "_shared", None)
    yield helper_process.shared_helper()
    helper_process.shared_helper().close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "boolq" / "dev.jsonl").exists():
        pytest.fail(
            f"The test data sets are missing: set CRFM_EVAL_TEST_DATA to the shared data folder ({SHARED_DATA})."
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """Facts recorded from other tools (HELM's prompts and stats.json) that tests compare against."""
    if not (SHARED_FIXTURES / "helm_boolq_5shot.json").exists():
        pytest.fail(
            f"The recorded fixtures are missing: set CRFM_EVAL_TEST_FIXTURES to the folder ({SHARED_FIXTURES})."
        )
    return SHARED_FIXTURES


def run_cli(*overrides: str, cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m crfm_eval OVERRIDES...` in `cwd`, as a user types it; tests' helper modules importable.

    The checkout under test comes first on the path, so a second checkout (a git worktree) runs its
    own code even when another one is pip-installed in editable mode.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(TESTS)]), **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "crfm_eval", *overrides], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def run_folder(output_dir: Path, suite: str = "default", **names: str) -> Path:
    """The one run folder of `suite` whose status.json names match `names` (e.g. adaptation="0shot").

    Folder names hold the settings that tell runs apart (crfm_eval/runner/identity.py): tests find
    folders by what ran in them, never by a hard-coded name."""
    found = []
    for status_file in sorted((output_dir / "runs" / suite).glob("*/status.json")):
        status = json.loads(status_file.read_text())
        if all(status.get(key) == value for key, value in names.items()):
            found.append(status_file.parent)
    assert len(found) == 1, f"expected one run folder with {names} in {output_dir}, found {found}"
    return found[0]
