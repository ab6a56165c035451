"""`python -m crfm_eval.proxy`: the model proxy, its web page and API, served by gunicorn.

    python -m crfm_eval.proxy [--host 127.0.0.1] [--port 1959] [--base-dir proxy] [--models-dir conf/model]
                              [--workers 1] [--threads 32] [--access-log -]

The base dir holds the accounts (accounts.sqlite), the request cache (cache/) and the provider keys
(credentials.yaml, optional); every worker process shares it. On first start with no account, an
admin account is created with the key in $CRFM_EVAL_ADMIN_KEY, or a generated key printed once.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

from crfm_eval.errors import UserError
from crfm_eval.proxy.access_log import open_access_log
from crfm_eval.proxy.accounts import Accounts
from crfm_eval.proxy.model_configs import DEFAULT_MODELS_DIR, load_model_specs
from crfm_eval.proxy.serving import ServerSettings
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


def prepare(settings: ServerSettings) -> None:
    """Checks and first-start work, once, before any worker starts: bad configs stop here."""
    settings.base_dir.mkdir(parents=True, exist_ok=True)
    load_model_specs(settings.models_dir)
    accounts = Accounts(settings.base_dir / "accounts.sqlite")
    try:
        ensure_admin(accounts)
    finally:
        accounts.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m crfm_eval.proxy", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for a shared server)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--base-dir", type=Path, default=Path("proxy"), help="accounts, cache and credentials")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, help="model configs (conf/model)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (about one per core)")
    parser.add_argument("--threads", type=int, default=32, help="requests each worker serves at once")
    parser.add_argument(
        "--access-log", default="-", help="'-' for standard error, a file to append to, or 'off' (default: -)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    settings = ServerSettings(
        host=args.host,
        port=args.port,
        base_dir=args.base_dir,
        models_dir=args.models_dir,
        workers=args.workers,
        threads=args.threads,
    )
    if sys.platform == "win32":
        log.error("The proxy's server (gunicorn) runs on Linux and macOS; on Windows, run the proxy under WSL.")
        sys.exit(1)
    try:
        prepare(settings)
        open_access_log(args.access_log)
    except (UserError, OSError) as error:
        log.error("%s", error)
        sys.exit(1)
    log.info(
        "Serving on http://%s:%d with %d worker(s) x %d threads (web page at /, API under /api)",
        args.host,
        args.port,
        args.workers,
        args.threads,
    )
    from crfm_eval.proxy.gunicorn_app import GunicornProxy  # POSIX only: imported to serve

    GunicornProxy(settings).run()


if __name__ == "__main__":
    main()
