"""The confidence intervals' quantiles (metrics/quantiles.py): scipy's values exactly, computed in a
helper process (the run's process never imports scipy), remembered in the cache folder so that a
later run gives byte-identical stats without the helper, and a damaged file costs nothing but a
helper's answer."""

import os
import time
from pathlib import Path

import pytest
from conftest import run_cli, run_folder
from scipy.special import ndtri, stdtrit

from crfm_eval.errors import UserError
from crfm_eval.metrics import helper_process, quantiles


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quantiles, "_known", {})
    monkeypatch.setattr(quantiles, "_new", set())


def test_the_quantiles_are_scipys_and_read_back_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = {df: quantiles.t_quantile(df, 0.975) for df in (1, 2, 9, 29, 3269, 99_999)}
    normal = quantiles.normal_quantile(0.975)
    assert values == {df: float(stdtrit(df, 0.975)) for df in values} and normal == float(ndtri(0.975))
    quantiles.save(tmp_path)
    monkeypatch.setattr(quantiles, "_known", {})
    assert quantiles.load(tmp_path)
    # Now from the file: the same floats, and the helper is not asked.
    monkeypatch.setattr(quantiles, "ask", lambda *args: pytest.fail("the helper was asked for a remembered quantile"))
    assert {df: quantiles.t_quantile(df, 0.975) for df in values} == values
    assert quantiles.normal_quantile(0.975) == normal


def test_a_damaged_or_missing_file_is_computed_again(tmp_path: Path) -> None:
    assert not quantiles.load(tmp_path)  # no file
    (tmp_path / quantiles.FILE).write_text('{"t:4:0.975": "not a number", "normal:0.975": 1.5')  # cut short
    assert not quantiles.load(tmp_path)
    assert quantiles.t_quantile(4, 0.975) == float(stdtrit(4, 0.975))
    quantiles.save(tmp_path)
    assert quantiles.load(tmp_path)


def test_a_rerun_reads_the_quantiles_and_writes_byte_identical_stats(tmp_path: Path, shared_data: Path) -> None:
    common = ("adaptation=0shot", "model=simple", "max_eval_instances=40", f"data_dir={shared_data}")
    first = run_cli(*common, cwd=tmp_path, extra_env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert first.returncode == 0, first.stderr
    # The first run computes its quantiles in the helper process: the run's process imports no scipy.
    assert not any(name.startswith("scipy") for name in _imported(first.stderr))
    assert (tmp_path / "outputs" / "cache" / quantiles.FILE).exists()
    run_dir = run_folder(tmp_path / "outputs")
    stats = (run_dir / "stats.json").read_bytes()
    again = run_cli(*common, "force=true", cwd=tmp_path, extra_env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert again.returncode == 0, again.stderr
    imported = _imported(again.stderr)
    assert "crfm_eval.runner.runner" in imported and not any(name.startswith("scipy") for name in imported)
    assert (run_dir / "stats.json").read_bytes() == stats


def _imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_a_helper_that_cannot_import_scipy_fails_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A `scipy` that cannot be imported, first on the helper's path (this process keeps the real one).
    broken = tmp_path / "scipy"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('scipy is broken (simulated)')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(helper_process, "_shared", None)
    try:
        with pytest.raises(UserError) as error:
            quantiles.t_quantile(7, 0.975)
        assert "simulated" in str(error.value) and "pip install scipy" in str(error.value)
    finally:
        helper_process.shared_helper().close()


def test_closing_a_helper_that_is_still_loading_scipy_does_not_wait_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C early in a run: the helper was started with the requests and is still importing scipy.
    monkeypatch.setattr(helper_process, "_shared", None)
    quantiles.start_helper()
    helper = helper_process.shared_helper()
    assert helper._process is not None
    child = helper._process
    start = time.monotonic()
    helper.close()
    assert time.monotonic() - start < 0.5 and child.poll() is not None
