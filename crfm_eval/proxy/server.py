"""The proxy's HTTP API (a Bottle app) around the same in-process Service the runner uses.

JSON bodies in and out, real status codes: 400 malformed, 401 no or unknown key, 403 quota used
up or admin only, 404 unknown model or account, 413 body too large, 502 upstream failure, 504
upstream timeout. Keys travel in `Authorization: Bearer KEY` and appear in no response except
the one that creates or rotates them.
"""

import json
import logging
from pathlib import Path
from typing import Any, NoReturn

import bottle
import dacite

import crfm_eval
from crfm_eval.errors import UserError
from crfm_eval.json_io import from_jsonable, to_jsonable
from crfm_eval.models.clients.client import TIMEOUT_ERROR
from crfm_eval.models.service import LocalService
from crfm_eval.proxy.accounts import Account, AccountError, Accounts
from crfm_eval.states import Request

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024
"""Largest accepted request body (a prompt of a few hundred thousand tokens fits)."""
STATIC_DIR = Path(__file__).parent / "static"
OPENAPI_FILE = Path(__file__).parent / "openapi.json"


def _fail(status: int, message: str, **extra: Any) -> NoReturn:
    raise bottle.HTTPResponse(
        body=json.dumps({"error": message, **extra}), status=status, headers={"Content-Type": "application/json"}
    )


def _json_body() -> dict[str, Any]:
    if (bottle.request.content_length or 0) > MAX_BODY_BYTES:
        _fail(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    raw = bottle.request.body.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        _fail(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        _fail(400, f"the body is not JSON ({error})")
    if not isinstance(data, dict):
        _fail(400, "the body must be a JSON object")
    return data


def _account_view(accounts: Accounts, account: Account) -> dict[str, Any]:
    return {
        "username": account.username,
        "is_admin": account.is_admin,
        "quotas": account.quotas,
        "usage": accounts.usage(account.username),
    }


def create_app(service: LocalService, accounts: Accounts) -> bottle.Bottle:
    app = bottle.Bottle()
    models = {spec.name: spec for spec in service.model_specs}

    def error_as_json(error: bottle.HTTPError) -> str:
        bottle.response.content_type = "application/json"
        return json.dumps({"error": str(error.body)})

    app.default_error_handler = error_as_json

    def authenticated() -> Account:
        header = bottle.request.get_header("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            _fail(401, "send your API key as the header 'Authorization: Bearer KEY'")
        account = accounts.authenticate(header[7:].strip())
        if account is None:
            _fail(401, "this API key belongs to no account")
        return account

    def admin_only(account: Account, action: str) -> None:
        if not account.is_admin:
            _fail(403, f"only an admin account can {action}")

    def username_in(data: dict[str, Any]) -> str:
        username = data.get("username")
        if not isinstance(username, str) or not username:
            _fail(400, "give the account's 'username'")
        return username

    @app.get("/api/general_info")
    def general_info() -> dict[str, Any]:
        listed = [
            {"name": spec.name, "group": spec.group, "max_sequence_length": spec.max_sequence_length}
            for spec in models.values()
        ]
        return {"version": crfm_eval.__version__, "models": listed}

    @app.post("/api/request")
    def make_request() -> dict[str, Any]:
        data = _json_body()
        account = authenticated()
        request_data = data.get("request")
        if not isinstance(request_data, dict):
            _fail(400, "'request' must be a JSON object (see /api/openapi.json)")
        try:
            request = from_jsonable(Request, request_data)
        except (dacite.DaciteError, TypeError, ValueError) as error:
            _fail(400, f"'request' is not a valid request ({error})")
        spec = models.get(request.model)
        if spec is None:
            _fail(404, f"unknown model {request.model!r}; GET /api/general_info lists the models")
        cached = service.cached_result(request)
        if cached is not None:
            return to_jsonable(cached)
        exhausted = accounts.reserve(account, spec.group)
        if exhausted:
            _fail(403, f"the {exhausted} quota of model group {spec.group!r} is used up")
        try:
            result = service.make_request(request)
        except UserError as error:  # e.g. the proxy has no provider key for this model
            accounts.refund(account, spec.group)
            _fail(502, str(error))
        if not result.success or result.cached:
            # Failures are not charged, nor a result another caller's identical request just bought.
            accounts.refund(account, spec.group)
        if not result.success:
            status = 504 if (result.error or "").startswith(TIMEOUT_ERROR) else 502
            _fail(status, f"the model failed: {result.error}", result=to_jsonable(result))
        return to_jsonable(result)

    @app.post("/api/tokenize")
    def tokenize() -> dict[str, Any]:
        data = _json_body()
        authenticated()
        model, text = data.get("model"), data.get("text")
        if not isinstance(model, str) or not isinstance(text, str):
            _fail(400, "give 'model' and 'text' as strings")
        if model not in models:
            _fail(404, f"unknown model {model!r}; GET /api/general_info lists the models")
        try:
            tokens = service.tokenize(model, text)
        except UserError as error:
            _fail(502, str(error))
        return {"model": model, "tokens": tokens, "num_tokens": len(tokens)}

    @app.get("/api/account")
    def get_account() -> dict[str, Any]:
        account = authenticated()
        username = bottle.request.query.get("username") or account.username
        if username != account.username:
            admin_only(account, "read another account")
        try:
            return _account_view(accounts, accounts.get(username))
        except AccountError as error:
            _fail(404, str(error))

    @app.post("/api/account")
    def create_account() -> dict[str, Any]:
        data = _json_body()
        admin_only(authenticated(), "create accounts")
        username = username_in(data)
        try:
            api_key = accounts.create(username, bool(data.get("is_admin", False)), data.get("quotas") or {})
        except AccountError as error:
            _fail(400, str(error))
        bottle.response.status = 201
        return {"username": username, "api_key": api_key}

    @app.put("/api/account")
    def update_account() -> dict[str, Any]:
        data = _json_body()
        admin_only(authenticated(), "change quotas or admin rights")
        username = username_in(data)
        try:
            accounts.get(username)
        except AccountError as error:
            _fail(404, str(error))
        try:
            updated = accounts.update(username, data.get("is_admin"), data.get("quotas"))
        except AccountError as error:
            _fail(400, str(error))
        return _account_view(accounts, updated)

    @app.delete("/api/account")
    def delete_account() -> dict[str, Any]:
        data = _json_body()
        account = authenticated()
        admin_only(account, "delete accounts")
        username = username_in(data)
        if username == account.username:
            _fail(400, "an admin cannot delete their own account")
        try:
            accounts.delete(username)
        except AccountError as error:
            _fail(404, str(error))
        return {"deleted": username}

    @app.put("/api/account/api_key")
    def rotate_api_key() -> dict[str, Any]:
        data = _json_body()
        account = authenticated()
        username = data.get("username") or account.username
        if username != account.username:
            admin_only(account, "rotate another account's key")
        try:
            return {"username": username, "api_key": accounts.rotate_key(username)}
        except AccountError as error:
            _fail(404, str(error))

    @app.get("/api/openapi.json")
    def openapi() -> Any:
        return bottle.static_file(OPENAPI_FILE.name, root=str(OPENAPI_FILE.parent), mimetype="application/json")

    @app.get("/")
    def index() -> Any:
        return static("index.html")

    @app.get("/static/<path:path>")
    def static(path: str) -> Any:
        response = bottle.static_file(path, root=str(STATIC_DIR))
        # The page shows model output: only its own scripts may run, whatever a completion contains.
        response.set_header("Content-Security-Policy", "default-src 'self'; style-src 'self'")
        return response

    return app
