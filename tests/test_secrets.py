"""A key given every supported way (command line, environment, credentials file) reaches no file and
no terminal line: not the run folders, the cache, Hydra's sweep records (multirun.yaml, .submitit/),
the logs with their tracebacks, the request errors in scenario_state.jsonl, nor stdout/stderr of a
single run, a sweep, or `--cfg job`.

The same key is the proxy's admin key (the account the runs use), the account key given to the
runs, and the provider key of an OpenAI-compatible server that answers 401 quoting the key it was
sent, as OpenAI's API does, so the key also travels inside error messages and tracebacks.
"""

import logging
from pathlib import Path

import pytest
from conftest import run_cli
from proxy_helpers import proxy_process, write_models
from scripted_server import Script, scripted_server

from crfm_eval.redaction import REDACTED, hide_command_line_secrets, redact, register_secret

KEY = "sk-known-secret-4f1c9e2a7b55"
SMALL = ("model=simple", "max_eval_instances=4", "execution.progress=false")
UNAUTHORIZED = {
    "error": {
        "message": f"Incorrect API key provided: {KEY}. You can find your API key at your provider.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}


def _files_holding_the_key(*folders: Path) -> list[Path]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and KEY.encode() in path.read_bytes():
                found.append(path)
    return found


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("proxy")
    log = folder / "proxy.log"
    with proxy_process(folder / "base", write_models(folder / "models"), KEY, log) as url:
        yield url, folder


@pytest.fixture(scope="module")
def leaky_provider():
    """An OpenAI-compatible server that refuses the key and quotes it back (HTTP 401)."""
    script = Script([(401, {}, UNAUTHORIZED)])
    with scripted_server(script) as url:
        yield url, script


def test_a_key_given_every_way_reaches_no_file_and_no_terminal(proxy, leaky_provider, tmp_path, shared_data):
    url, proxy_folder = proxy
    provider_url, script = leaky_provider
    data = f"data_dir={shared_data}"
    through_proxy = ("execution=proxy", f"execution.url={url}")
    on_command_line = f"execution.api_key={KEY}"
    in_environment = {"CRFM_EVAL_API_KEY": KEY}
    (tmp_path / "credentials.yaml").write_text(f"openai_api_key: {KEY}\n")
    provider = ("model=openai-compatible", f"model.args.base_url={provider_url}/v1", "+model.args.max_retries=0")

    commands = {
        "single run, key on the command line": (
            run_cli(*SMALL, data, *through_proxy, on_command_line, cwd=tmp_path),
            0,
        ),
        "single run, key in the environment": (
            run_cli(*SMALL, data, *through_proxy, "seed=5", cwd=tmp_path, extra_env=in_environment),
            0,
        ),
        "sweep, key on the command line": (
            run_cli("-m", *SMALL, data, *through_proxy, on_command_line, "seed=1,2", cwd=tmp_path),
            0,
        ),
        "sweep in subprocesses, key on the command line": (
            run_cli(
                "-m",
                "hydra/launcher=submitit_local",
                *SMALL,
                data,
                *through_proxy,
                on_command_line,
                "seed=3,4",
                cwd=tmp_path,
            ),
            0,
        ),
        "--cfg job, key on the command line": (
            run_cli(*through_proxy, on_command_line, "--cfg", "job", cwd=tmp_path),
            0,
        ),
        "--cfg job --resolve, key on the command line": (
            run_cli(*through_proxy, on_command_line, "--cfg", "job", "--resolve", cwd=tmp_path),
            0,
        ),
        "--cfg job --resolve, key in the environment": (
            run_cli(*through_proxy, "--cfg", "job", "--resolve", cwd=tmp_path, extra_env=in_environment),
            0,
        ),
        # The provider refuses the key from credentials.yaml and quotes it: in the failed requests'
        # errors, the one-line summary, and (hydra.verbose) the logged tracebacks.
        "single run, key in credentials.yaml": (
            run_cli(*provider, "max_eval_instances=3", data, "hydra.verbose=true", cwd=tmp_path),
            1,
        ),
        "sweep, key in credentials.yaml": (
            run_cli("-m", *provider, "max_eval_instances=2", data, "seed=1,2", cwd=tmp_path),
            1,
        ),
        "single run, provider key in the environment": (
            run_cli(
                *provider,
                "max_eval_instances=2",
                data,
                "execution.credentials_file=null",
                cwd=tmp_path,
                extra_env={"OPENAI_API_KEY": KEY},
            ),
            1,
        ),
    }
    for name, (completed, expected_status) in commands.items():
        assert completed.returncode == expected_status, (name, completed.stderr)
        assert KEY not in completed.stdout + completed.stderr, name
    # The runs really used the key: the proxy accepted it, the provider received it and quoted it.
    sent = [{name.lower(): value for name, value in record.headers.items()} for record in script.seen]
    assert sent and all(headers["authorization"] == f"Bearer {KEY}" for headers in sent)
    outputs = tmp_path / "outputs"
    assert (outputs / "runs" / "default" / "multirun.yaml").is_file() and (outputs / "runs/default/.submitit").is_dir()
    states = [path.read_text() for path in outputs.rglob("scenario_state.jsonl")]
    assert any("Incorrect API key provided: ***" in text for text in states)
    logs = "".join(path.read_text() for path in outputs.rglob("*.log"))
    assert "Traceback" in logs and "ClientError: 401 from" in logs  # the debug tracebacks were written, redacted
    assert REDACTED in commands["--cfg job --resolve, key on the command line"][0].stdout
    assert _files_holding_the_key(tmp_path, proxy_folder) == [tmp_path / "credentials.yaml"]  # where we wrote it


def test_a_logged_traceback_is_redacted(tmp_path):
    register_secret(KEY)
    logger = logging.getLogger("test_secrets.traceback")
    handler = logging.FileHandler(tmp_path / "log.txt")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"the server said: bad key {KEY}")
        except RuntimeError:
            logger.exception("a request failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = (tmp_path / "log.txt").read_text()
    assert "RuntimeError: the server said: bad key ***" in text and KEY not in text


def test_command_line_keys_become_environment_references(monkeypatch):
    arguments = ["model=simple", f"execution.api_key={KEY}", f"+model.args.openai_api_key='{KEY}'", "seed=1"]
    hidden = hide_command_line_secrets(arguments)
    assert hidden[0] == "model=simple" and hidden[3] == "seed=1"
    assert hidden[1].startswith("execution.api_key=${oc.env:") and hidden[2].startswith("+model.args.openai_api_key=")
    assert KEY not in " ".join(hidden) and redact(f"x {KEY} y") == "x *** y"
    for argument in hidden[1:3]:
        variable = argument.split("${oc.env:")[1].rstrip("}")
        assert __import__("os").environ[variable] == KEY
        monkeypatch.delenv(variable)
    assert hide_command_line_secrets(["adaptation.max_tokens=5", "top_k_per_token=3"]) == [
        "adaptation.max_tokens=5",
        "top_k_per_token=3",
    ]
