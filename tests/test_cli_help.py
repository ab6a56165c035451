"""`--help` alone is answered before Hydra starts; with an override it is Hydra's help, composed."""

from conftest import run_cli


def test_bare_help_lists_every_group_with_its_default(tmp_path):
    completed = run_cli("--help", cwd=tmp_path)
    assert completed.returncode == 0 and not completed.stderr
    assert (
        "adaptation: 0shot, 5shot, bbq, bbq_separate, continuation, imdb, " in completed.stdout
        and "  (default: 5shot)" in completed.stdout
    )
    assert "execution: local, proxy  (default: local)" in completed.stdout
    assert "--cfg job" in completed.stdout and "Powered by Hydra" in completed.stdout


def test_help_with_an_override_is_hydras_with_the_composed_config(tmp_path):
    completed = run_cli("--help", "seed=7", "model=simple", cwd=tmp_path)
    assert completed.returncode == 0
    assert "seed: 7" in completed.stdout and "name: simple/deterministic" in completed.stdout
