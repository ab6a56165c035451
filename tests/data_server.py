"""A real HTTP server on 127.0.0.1 serving files a test writes, for the download paths; and a fixture
that lifts CRFM_EVAL_OFFLINE for the test that needs to download from it."""

import functools
import http.server
import threading

import pytest

from crfm_eval.scenarios import download


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture()
def file_server(tmp_path):
    """(folder served, base URL): files written into the folder are downloadable at base URL + name."""
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture()
def online(monkeypatch):
    monkeypatch.delenv(download.OFFLINE_VARIABLE, raising=False)
