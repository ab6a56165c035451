"""The helper process (metrics/helper_process.py) keeps answering whatever its callers and libraries
do: a library writing on file descriptor 1, a caller cancelling a request or sending one that
cannot be written, a helper closed and asked again, a command run from a folder holding a module
named like a library. Each of these used to hang a run or answer the wrong caller."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from crfm_eval.metrics import helper_process, offline_toxicity, quantiles

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def helper(monkeypatch: pytest.MonkeyPatch) -> Iterator[helper_process.HelperProcess]:
    """A helper process of the test's own, started with the environment the test sets."""
    monkeypatch.setattr(helper_process, "_shared", None)
    yield helper_process.shared_helper()
    helper_process.shared_helper().close()


def test_a_library_writing_on_descriptor_1_does_not_break_the_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helper: helper_process.HelperProcess
) -> None:
    # A "model" whose C side (here os.write and a shell) writes on descriptor 1, past sys.stdout.
    noisy = tmp_path / "profanity_check"
    noisy.mkdir()
    (noisy / "__init__.py").write_text(
        "import os\n"
        "def predict_prob(texts):\n"
        "    os.write(1, b'1\\n{}\\n')\n"
        "    os.system('echo 2')\n"
        "    return [len(text) / 100 for text in texts]\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(REPO)]))
    answers = [offline_toxicity.submit([f"text {index}"]) for index in range(3)]
    assert [future.result(timeout=60) for future in answers] == [[0.06]] * 3
    assert helper.submit(["quantile", "normal:0.975"]).result(timeout=60) > 1.95


def test_a_cancelled_or_unwritable_request_leaves_the_others_answered(
    helper: helper_process.HelperProcess,
) -> None:
    cancelled = helper.submit(["quantile", "t:3:0.975"])
    assert cancelled.cancel()
    with pytest.raises(TypeError):
        helper.submit(["quantile", {1, 2}])  # not JSON: fails in its caller, queues nothing
    first, second = helper.submit(["quantile", "t:4:0.975"]), helper.submit(["quantile", "t:5:0.975"])
    assert round(first.result(timeout=60), 4) == 2.7764 and round(second.result(timeout=60), 4) == 2.5706


def test_a_closed_helper_asked_again_starts_a_new_child(helper: helper_process.HelperProcess) -> None:
    assert helper.submit(["quantile", "t:9:0.975"]).result(timeout=60) > 2
    first = helper._process
    helper.close()
    answers = [helper.submit(["quantile", f"t:{df}:0.975"]) for df in (10, 11)]
    assert [round(future.result(timeout=60), 3) for future in answers] == [2.228, 2.201]
    assert helper._process is not first


def test_a_module_in_the_current_folder_does_not_shadow_the_helpers_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helper: helper_process.HelperProcess
) -> None:
    # `python -m` puts the working folder first on the path: a `scipy/` there must not be imported.
    (tmp_path / "scipy").mkdir()
    (tmp_path / "scipy" / "__init__.py").write_text("raise ImportError('the scipy of the current folder')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(quantiles, "_known", {})
    assert round(quantiles.t_quantile(12, 0.975), 4) == 2.1788
