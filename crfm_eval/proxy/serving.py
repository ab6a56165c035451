"""What the proxy serves and how: N worker processes sharing one base dir, threads in each.

Why gunicorn: a team's server needs several processes (one Python process uses one core), a
supervisor that restarts a worker that dies, graceful restarts, a real listen backlog and
keep-alive handling. gunicorn is that, and well kept; no process management is written here.
Each worker builds its own Service and account store after the fork (sqlite connections must never
cross a fork); they share the files: the accounts (quotas are charged in sqlite transactions, exact
across processes) and the request caches (WAL, see models/shared_sqlite.py).

Connection settings, measured with bench/proxy_load.py (32 clients): cheroot's defaults (listen
backlog 5, 10 idle keep-alive connections) reset connections and gave a p99 of about 1 s; here the
backlog is 2048 and every worker keeps up to 1000 connections alive (gthread's poller holds idle
ones without a thread each).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from crfm_eval.models.credentials import Credentials
from crfm_eval.models.service import LocalService
from crfm_eval.proxy.access_log import AccessLog
from crfm_eval.proxy.accounts import Accounts
from crfm_eval.proxy.model_configs import load_model_specs
from crfm_eval.proxy.server import create_app


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 1959
    base_dir: Path = Path("proxy")
    models_dir: Path = Path("conf/model")
    workers: int = 1
    """Processes; each serves `threads` requests at once. About one per core for cached traffic;
    an embedded model is loaded once per worker (memory x workers)."""
    threads: int = 32
    backlog: int = 2048
    keep_alive_seconds: int = 15
    """How long an idle client connection stays open (behind a reverse proxy, longer than its own)."""
    timeout_seconds: int = 120
    """A worker silent this long is restarted (gthread workers keep beating while requests wait on a model)."""

    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def build_wsgi_app(settings: ServerSettings) -> Callable[..., Any]:
    """The proxy's WSGI app over the base dir: called in each worker process."""
    service = LocalService(
        load_model_specs(settings.models_dir),
        settings.base_dir / "cache",
        Credentials.load(settings.base_dir / "credentials.yaml"),
    )
    return AccessLog(create_app(service, Accounts(settings.base_dir / "accounts.sqlite")))
