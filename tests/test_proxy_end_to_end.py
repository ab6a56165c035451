"""BoolQ through `python -m crfm_eval.proxy` (a real process) gives what the in-process run gives."""

import json

import pytest
import requests
from conftest import run_cli, run_folder
from proxy_helpers import free_port, proxy_process, write_models

from crfm_eval.runner.readers import iter_request_states

ADMIN_KEY = "admin-key-e2e-51c2"
COMMAND = ("scenario=boolq", "adaptation=5shot", "model=simple", "max_eval_instances=20")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("proxy")
    with proxy_process(folder / "base", write_models(folder / "models"), ADMIN_KEY, folder / "proxy.log") as url:
        response = requests.post(
            url + "/api/account", json={"username": "runner"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        yield url, response.json()["api_key"], folder / "proxy.log"


def _outputs(folder):
    run_dir = run_folder(folder / "outputs")
    states = list(iter_request_states(run_dir))
    stats = [s for s in json.loads((run_dir / "stats.json").read_text()) if s["name"] != "inference_runtime"]
    return states, stats, run_dir


def test_proxy_run_equals_local_run_and_keeps_the_key_secret(proxy, tmp_path, shared_data):
    url, key, proxy_log = proxy
    (tmp_path / "local").mkdir()
    local = run_cli(*COMMAND, f"data_dir={shared_data}", cwd=tmp_path / "local")
    assert local.returncode == 0, local.stderr
    (tmp_path / "remote").mkdir()
    remote = run_cli(
        *COMMAND,
        f"data_dir={shared_data}",
        "execution=proxy",
        f"execution.url={url}",
        cwd=tmp_path / "remote",
        extra_env={"CRFM_EVAL_API_KEY": key},
    )
    assert remote.returncode == 0, remote.stderr
    local_states, local_stats, _ = _outputs(tmp_path / "local")
    remote_states, remote_stats, run_dir = _outputs(tmp_path / "remote")
    assert [s["request"] for s in remote_states] == [s["request"] for s in local_states]
    assert [s["result"]["completions"] for s in remote_states] == [s["result"]["completions"] for s in local_states]
    assert remote_stats == local_stats
    assert json.loads((run_dir / "run_spec.json").read_text())["execution"]["api_key"] == "***"

    # Given on the command line instead, the key still reaches no file and no output line.
    (tmp_path / "override").mkdir()
    overridden = run_cli(
        *COMMAND,
        f"data_dir={shared_data}",
        "execution=proxy",
        f"execution.url={url}",
        f"execution.api_key={key}",
        cwd=tmp_path / "override",
    )
    assert overridden.returncode == 0, overridden.stderr
    assert key not in overridden.stdout + overridden.stderr
    for path in (tmp_path / "override").rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    assert key not in proxy_log.read_text() and ADMIN_KEY not in proxy_log.read_text()


def test_wrong_key_and_unreachable_proxy_are_one_sentence(proxy, tmp_path, shared_data):
    url, _, _ = proxy
    wrong = run_cli(
        *COMMAND,
        f"data_dir={shared_data}",
        "execution=proxy",
        f"execution.url={url}",
        cwd=tmp_path,
        extra_env={"CRFM_EVAL_API_KEY": "not-a-real-key"},
    )
    output = wrong.stdout + wrong.stderr
    assert wrong.returncode == 1 and "answered 401" in output and "CRFM_EVAL_API_KEY" in output
    assert "Traceback" not in output
    down = run_cli(
        *COMMAND,
        f"data_dir={shared_data}",
        "execution=proxy",
        f"execution.url=http://127.0.0.1:{free_port()}",
        cwd=tmp_path,
        extra_env={"CRFM_EVAL_API_KEY": "k" * 10},
    )
    output = down.stdout + down.stderr
    assert down.returncode == 1 and "Cannot reach the proxy" in output and "Traceback" not in output


def test_demo_script_runs_against_a_local_proxy(proxy):
    url, key, _ = proxy
    import os
    import subprocess
    import sys

    from conftest import REPO

    completed = subprocess.run(
        [sys.executable, str(REPO / "demo.py"), "--url", url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CRFM_EVAL_API_KEY": key},
    )
    assert completed.returncode == 0, completed.stderr
    # The simple model copies the answer of the most similar example: 'Is fire cold?' -> No.
    assert "Completion: ' No'" in completed.stdout and "usage:" in completed.stdout and "tokens" in completed.stdout
    assert key not in completed.stdout


def test_log_likelihood_methods_through_the_proxy_equal_local(proxy, tmp_path, shared_data):
    """Separate multiple choice (calibrated: two log-likelihood requests per option) and language
    modeling give the same scores through the proxy as in-process."""
    url, key, _ = proxy
    for adaptation in ("mc_calibrated", "language_modeling"):
        command = (f"adaptation={adaptation}", "model=simple", "max_eval_instances=10", f"data_dir={shared_data}")
        outputs = []
        for where, extra in (("local", ()), ("remote", ("execution=proxy", f"execution.url={url}"))):
            folder = tmp_path / adaptation / where
            folder.mkdir(parents=True)
            completed = run_cli(*command, *extra, cwd=folder, extra_env={"CRFM_EVAL_API_KEY": key})
            assert completed.returncode == 0, completed.stderr
            run_dir = next((folder / "outputs" / "runs" / "default").glob("*/run_spec.json")).parent
            states = list(iter_request_states(run_dir))
            stats = [s for s in json.loads((run_dir / "stats.json").read_text()) if s["name"] != "inference_runtime"]
            outputs.append(([s["request"] for s in states], [s["result"]["completions"] for s in states], stats))
        assert outputs[0] == outputs[1], adaptation
        assert any(s["request"]["continuation"] for s in states)
