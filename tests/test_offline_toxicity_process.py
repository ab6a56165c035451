"""The offline toxicity model in the helper process (metrics/offline_toxicity.py, helper_process.py),
and the recorder that goes on recording while a scorer works (runner/recorder.py): the run's process
never loads scikit-learn, one child serves the whole process (the quantiles too), a model that
cannot be loaded fails in one sentence that names the fix, a child whose parent is killed ends, closing does not wait for a model still
loading (Ctrl-C stops a run within a second), and the recorder neither waits for a
window's scores while it can go on nor holds more than MAX_WAITING_INSTANCES."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Optional

import pytest

import crfm_eval.runner.recorder as recorder_module
from crfm_eval.errors import UserError
from crfm_eval.metrics import helper_process, offline_toxicity
from crfm_eval.metrics.matching import MatchingMetric
from crfm_eval.runner.recorder import RunRecorder
from crfm_eval.states import Completion, Instance, Reference, Request, RequestResult, RequestState

REPO = Path(__file__).resolve().parents[1]
TOXIC, CLEAN = "You are a stupid idiot and everyone hates you.", "The committee will meet on Tuesday."


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_scores_come_from_one_child_and_scikit_learn_stays_out_of_the_run() -> None:
    done = _python(
        """
        import sys
        from crfm_eval.metrics.helper_process import shared_helper
        from crfm_eval.metrics.quantiles import t_quantile
        from crfm_eval.metrics.toxicity_scorers import OfflineToxicityScorer
        first, second = OfflineToxicityScorer(), OfflineToxicityScorer()
        toxic, clean = first.score(["%s", "%s"])
        child = shared_helper()._process.pid
        again = second.submit(["%s"]).result()
        assert toxic >= 0.5 > clean and again == [toxic], (toxic, clean, again)
        assert round(t_quantile(9, 0.975), 4) == 2.2622 and shared_helper()._process.pid == child
        assert not any(name.split(".")[0] in ("sklearn", "profanity_check", "scipy") for name in sys.modules)
        print(child)
        """
        % (TOXIC, CLEAN, TOXIC)
    )
    assert done.returncode == 0, done.stderr
    child = int(done.stdout.split()[-1])
    assert not _running(child)  # one child for both scorers and the quantile, ended with its parent (at exit)


def test_a_model_that_cannot_be_loaded_fails_in_one_sentence(
    tmp_path: Path, monkeypatch: Any, fresh_helper: helper_process.HelperProcess
) -> None:
    # A `profanity_check` that cannot be imported, first on the child's path.
    broken = tmp_path / "profanity_check"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('no module named sklearn (simulated)')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(REPO)]))
    with pytest.raises(UserError) as error:
        offline_toxicity.submit([TOXIC]).result(timeout=120)
    message = str(error.value)
    assert "simulated" in message and "pip install alt-profanity-check" in message and "scorer=perspective" in message
    # Later batches fail too, with the same sentence; the helper itself goes on (the quantiles need it).
    with pytest.raises(UserError, match="simulated"):
        offline_toxicity.submit([CLEAN]).result(timeout=5)
    assert helper_process.ask("quantile", "normal:0.975").result(timeout=60) > 1.95


def test_a_model_that_prints_warns_and_writes_on_descriptor_1_does_not_break_or_block_the_child(
    tmp_path: Path, monkeypatch: Any, fresh_helper: helper_process.HelperProcess
) -> None:
    # A `profanity_check` that prints on standard output when imported, writes 200 KB of warnings
    # per batch (more than a pipe holds), and writes on descriptor 1 past sys.stdout, as a C
    # extension or a subprocess would (here os.write and a shell): the answers still come, in order.
    chatty = tmp_path / "profanity_check"
    chatty.mkdir()
    (chatty / "__init__.py").write_text(
        "import os, sys\n"
        "print('loading the model...')\n"
        "def predict_prob(texts):\n"
        "    sys.stderr.write('warning: ' + 'x' * 200_000 + '\\n')\n"
        "    os.write(1, b'1\\n{}\\n')\n"
        "    os.system('echo 2')\n"
        "    return [len(text) / 100 for text in texts]\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(REPO)]))
    answers = [offline_toxicity.submit([f"text {index}", "ab"]) for index in range(5)]
    assert [future.result(timeout=60) for future in answers] == [[0.06, 0.02]] * 5


def test_the_child_ends_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time
                from crfm_eval.metrics import offline_toxicity
                from crfm_eval.metrics.helper_process import shared_helper
                offline_toxicity.submit(["hello"]).result()
                print(shared_helper()._process.pid, flush=True)
                time.sleep(600)
                """
            ),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not _running(child):
            return
        time.sleep(0.1)
    pytest.fail(f"the scorer process {child} outlived its killed parent by 30 s")


def test_closing_with_a_batch_unanswered_does_not_wait_for_the_model_to_load(
    fresh_helper: helper_process.HelperProcess,
) -> None:
    # What an interrupted run does at exit: the child is still loading scikit-learn (2-3 s).
    pending = offline_toxicity.submit([TOXIC])
    helper = helper_process.shared_helper()
    assert helper._process is not None
    child = helper._process.pid
    start = time.monotonic()
    helper.close()
    assert time.monotonic() - start < 1.0 and not _running(child)
    with pytest.raises(UserError, match="stopped"):
        pending.result(timeout=5)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan waits for whoever reaps it, and kill(pid, 0) still finds it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


class SlowScorer(MatchingMetric):
    """A metric whose `prepare` answers only when the test says so, noting what it was asked."""

    def __init__(self) -> None:
        self.futures: list[Future[None]] = []
        self.evaluated: list[str] = []

    def prepare(self, states: list[RequestState]) -> Optional["Future[Any]"]:
        self.futures.append(Future())
        return self.futures[-1]

    def evaluate_instance(self, states: list[RequestState]) -> dict[str, float]:
        self.evaluated.append(states[0].instance.id)
        return super().evaluate_instance(states)


def _state(index: int) -> RequestState:
    instance = Instance(str(index), f"question {index}", [Reference("yes", ["correct"])], "test")
    result = RequestResult(success=True, completions=[Completion("yes", 0.0, [])])
    return RequestState(instance, 0, Request("m", instance.input), [], 0, False, 1, result)


def test_the_recorder_goes_on_while_scores_are_pending_and_waits_only_past_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "FIRST_PREPARE_WINDOW", 2)
    monkeypatch.setattr(recorder_module, "MAX_WAITING_INSTANCES", 10)
    metric = SlowScorer()
    recorder = RunRecorder(tmp_path, [metric], prepare_window=4)
    for index in range(9):  # windows of 2 and 4 prepared, none answered: nothing scored yet
        recorder.record(_state(index))
    assert len(metric.futures) == 2 and metric.evaluated == []
    metric.futures[1].set_result(None)  # the second window's scores first: order is kept
    recorder.record(_state(9))
    assert metric.evaluated == []
    metric.futures[0].set_result(None)
    for index in range(10, 14):  # the third window (4) is prepared: the first two are scored, in order
        recorder.record(_state(index))
    assert metric.evaluated == [str(index) for index in range(6)]
    # Unanswered windows pile up to the limit (10 waiting instances), then the recorder scores the
    # oldest anyway (the metric waits for its scores there).
    for index in range(14, 30):
        recorder.record(_state(index))
    waiting = 30 - 1 - len(metric.evaluated)  # the instance being received is not in a window yet
    assert len(metric.evaluated) > 6 and waiting <= 10 + 4
    for future in metric.futures:
        if not future.done():
            future.set_result(None)
    recorder.finish()
    recorder.close()
    assert metric.evaluated == [str(index) for index in range(30)]
    stats, _ = recorder.stats()
    assert next(stat for stat in stats if stat.name == "exact_match").count == 30
