"""The helper process (metrics/helper_process.py) keeps answering whatever its callers do: a caller
cancelling a request or sending one that cannot be written, a helper closed and asked again, a
command run from a folder holding a module named like a library. Each of these used to hang a run
or answer the wrong caller (a library writing on descriptor 1: tests/test_offline_toxicity_process.py)."""

from pathlib import Path

import pytest

from crfm_eval.metrics import helper_process, quantiles


def test_a_cancelled_or_unwritable_request_leaves_the_others_answered(
    fresh_helper: helper_process.HelperProcess,
) -> None:
    cancelled = fresh_helper.submit(["quantile", "t:3:0.975"])
    assert cancelled.cancel()
    with pytest.raises(TypeError):
        fresh_helper.submit(["quantile", {1, 2}])  # not JSON: fails in its caller, queues nothing
    first, second = fresh_helper.submit(["quantile", "t:4:0.975"]), fresh_helper.submit(["quantile", "t:5:0.975"])
    assert round(first.result(timeout=60), 4) == 2.7764 and round(second.result(timeout=60), 4) == 2.5706


def test_a_closed_helper_asked_again_starts_a_new_child(fresh_helper: helper_process.HelperProcess) -> None:
    assert fresh_helper.submit(["quantile", "t:9:0.975"]).result(timeout=60) > 2
    first = fresh_helper._process
    fresh_helper.close()
    answers = [fresh_helper.submit(["quantile", f"t:{df}:0.975"]) for df in (10, 11)]
    assert [round(future.result(timeout=60), 3) for future in answers] == [2.228, 2.201]
    assert fresh_helper._process is not first


def test_a_module_in_the_current_folder_does_not_shadow_the_helpers_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_helper: helper_process.HelperProcess
) -> None:
    # `python -m` puts the working folder first on the path: a `scipy/` there must not be imported.
    (tmp_path / "scipy").mkdir()
    (tmp_path / "scipy" / "__init__.py").write_text("raise ImportError('the scipy of the current folder')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(quantiles, "_known", {})
    assert round(quantiles.t_quantile(12, 0.975), 4) == 2.1788
