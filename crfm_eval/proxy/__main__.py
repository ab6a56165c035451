"""`python -m crfm_eval.proxy`: the model proxy, its web page and API, on a multi-threaded WSGI server.

    python -m crfm_eval.proxy [--host 127.0.0.1] [--port 1959] [--base-dir proxy] [--models-dir conf/model]

The base dir holds the accounts (accounts.sqlite), the request cache (cache/) and the provider keys
(credentials.yaml, optional). On first start with no account, an admin account is created with
the key in $CRFM_EVAL_ADMIN_KEY, or a generated key printed once.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

from cheroot import wsgi

from crfm_eval.errors import UserError
from crfm_eval.models.credentials import Credentials
from crfm_eval.models.service import LocalService
from crfm_eval.proxy.accounts import Accounts
from crfm_eval.proxy.model_configs import DEFAULT_MODELS_DIR, load_model_specs
from crfm_eval.proxy.server import create_app
from crfm_eval.redaction import register_secret

log = logging.getLogger("crfm_eval.proxy")

DEFAULT_PORT = 1959
ADMIN_KEY_VARIABLE = "CRFM_EVAL_ADMIN_KEY"


def ensure_admin(accounts: Accounts) -> None:
    """First start: create the `admin` account, and say its key once if it was generated."""
    if not accounts.is_empty():
        return
    given = os.environ.get(ADMIN_KEY_VARIABLE)
    register_secret(given)
    api_key = accounts.create("admin", is_admin=True, api_key=given)
    if given:
        log.info("Created the admin account with the key from $%s.", ADMIN_KEY_VARIABLE)
    else:
        # Printed to the terminal only (not through logging), exactly once.
        print(f"Created the admin account; its API key (shown only now): {api_key}", file=sys.stderr, flush=True)


def build_server(host: str, port: int, base_dir: Path, models_dir: Path, threads: int) -> wsgi.Server:
    base_dir.mkdir(parents=True, exist_ok=True)
    specs = load_model_specs(models_dir)
    credentials = Credentials.load(base_dir / "credentials.yaml")
    accounts = Accounts(base_dir / "accounts.sqlite")
    ensure_admin(accounts)
    service = LocalService(specs, base_dir / "cache", credentials)
    return wsgi.Server((host, port), create_app(service, accounts), numthreads=threads, server_name="crfm_eval")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m crfm_eval.proxy", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for a shared server)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--base-dir", type=Path, default=Path("proxy"), help="accounts, cache and credentials")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, help="model configs (conf/model)")
    parser.add_argument("--threads", type=int, default=32, help="requests served at once")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    try:
        server = build_server(args.host, args.port, args.base_dir, args.models_dir, args.threads)
    except UserError as error:
        log.error("%s", error)
        sys.exit(1)
    server.prepare()
    host, port = server.bind_addr[:2]
    log.info("Serving on http://%s:%d (web page at /, API under /api)", host, port)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
