"""The proxy under gunicorn (imported only to serve: gunicorn runs on Linux and macOS, not Windows)."""

from pathlib import Path
from typing import Any, Callable

from gunicorn.app.base import BaseApplication

from crfm_eval.proxy.serving import ServerSettings, build_wsgi_app


class GunicornProxy(BaseApplication):  # gunicorn ships no type hints (pyproject: ignored by mypy)
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options = {
            "bind": [s.bind()],
            "workers": s.workers,
            "worker_class": "gthread",
            "threads": s.threads,
            "worker_connections": 1000,
            "backlog": s.backlog,
            "keepalive": s.keep_alive_seconds,
            "timeout": s.timeout_seconds,
            "graceful_timeout": 30,
            "proc_name": "crfm_eval.proxy",
            "accesslog": None,  # the app writes its own (access_log.py): with the account, never the key
            "errorlog": "-",
            "loglevel": "info",
            "control_socket_disable": True,  # one fixed socket path per user would clash between proxies
            "preload_app": False,
        }
        if Path("/dev/shm").is_dir():
            options["worker_tmp_dir"] = "/dev/shm"  # heartbeats on a disk can stall a worker
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self) -> Callable[..., Any]:
        return build_wsgi_app(self.settings)
