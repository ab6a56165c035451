"""The confidence intervals' quantiles (metrics/quantiles.py): scipy's values exactly, remembered in
the cache folder so that a later run gives byte-identical stats without importing scipy, and a
damaged file costs nothing but the import."""

from pathlib import Path

import pytest
from conftest import run_cli, run_folder
from scipy.special import ndtri, stdtrit

from crfm_eval.metrics import quantiles


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
    # Now from the file: the same floats, and scipy is not asked (it would fail here).
    monkeypatch.setattr("scipy.special.stdtrit", None)
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
    first = run_cli(*common, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "outputs" / "cache" / quantiles.FILE).exists()
    run_dir = run_folder(tmp_path / "outputs")
    stats = (run_dir / "stats.json").read_bytes()
    again = run_cli(*common, "force=true", cwd=tmp_path, extra_env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert again.returncode == 0, again.stderr
    imported = {line.split("|")[-1].strip() for line in again.stderr.splitlines() if line.startswith("import time:")}
    assert "crfm_eval.runner.runner" in imported and not any(name.startswith("scipy") for name in imported)
    assert (run_dir / "stats.json").read_bytes() == stats
