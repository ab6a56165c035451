"""The proxy's HTTP API (a Bottle app) around the same in-process Service the runner uses.

JSON bodies in and out, real status codes: 400 malformed, 401 no or unknown key, 403 quota used
up or admin only, 404 unknown model or account, 409 the last admin, 413 too large (body, prompt),
502 upstream failure, 504 upstream timeout. Every input is checked at the edge (json_input,
request_input) so that no request can fail in the code behind, let alone fail another request.
Keys travel in `Authorization: Bearer KEY` and appear in no response except the one that creates
or rotates them.
"""

import json
import logging
from pathlib import Path
from typing import Any, Callable

import bottle

import crfm_eval
from crfm_eval.errors import UserError
from crfm_eval.json_io import to_jsonable
from crfm_eval.models.clients.client import TIMEOUT_ERROR
from crfm_eval.models.service import LocalService
from crfm_eval.proxy.account_routes import add_account_routes
from crfm_eval.proxy.accounts import Account, Accounts, QuotaExceeded
from crfm_eval.proxy.json_input import BadInput, parse_object, read_body, refuse
from crfm_eval.proxy.limits import LIMITS, Limits
from crfm_eval.proxy.quotas import Charge
from crfm_eval.proxy.request_input import parse_request
from crfm_eval.proxy.token_usage import completion_tokens

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
OPENAPI_FILE = Path(__file__).parent / "openapi.json"
USERNAME_ENVIRON_KEY = "crfm_eval.username"
"""Where the app leaves the authenticated user for the access log (never the key)."""


def error_response(status: int, message: str, **extra: Any) -> bottle.HTTPResponse:
    return bottle.HTTPResponse(
        body=json.dumps({"error": message, **extra}), status=status, headers={"Content-Type": "application/json"}
    )


def answer_bad_input(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Bottle plugin: a refused input becomes its status and sentence, as JSON."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except BadInput as error:
            return error_response(error.status, error.message)

    return wrapper


class Api:
    """What every route needs: the service, the accounts, the limits and the served models."""

    def __init__(self, service: LocalService, accounts: Accounts, limits: Limits) -> None:
        self.service, self.accounts, self.limits = service, accounts, limits
        self.models = {spec.name: spec for spec in service.model_specs}

    def body(self, allowed: set[str]) -> dict[str, Any]:
        data = parse_object(read_body(bottle.request.environ, self.limits), self.limits)
        unknown = sorted(set(data) - allowed)
        if unknown:
            refuse(400, f"the body has unknown field(s) {', '.join(unknown)}; it may give {', '.join(sorted(allowed))}")
        return data

    def authenticated(self) -> Account:
        header = bottle.request.get_header("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            refuse(401, "send your API key as the header 'Authorization: Bearer KEY'")
        account = self.accounts.authenticate(header[7:].strip())
        if account is None:
            refuse(401, "this API key belongs to no account")
        bottle.request.environ[USERNAME_ENVIRON_KEY] = account.username
        return account

    def admin_only(self, account: Account, action: str) -> None:
        if not account.is_admin:
            refuse(403, f"only an admin account can {action}")


def create_app(service: LocalService, accounts: Accounts, limits: Limits = LIMITS) -> bottle.Bottle:
    app = bottle.Bottle()
    app.install(answer_bad_input)
    api = Api(service, accounts, limits)

    def error_as_json(error: bottle.HTTPError) -> str:
        bottle.response.content_type = "application/json"
        if error.status_code >= 500:
            log.error("%s %s failed", bottle.request.method, bottle.request.path, exc_info=error.exception)
            return json.dumps({"error": "the proxy failed on this request; its log says why"})
        return json.dumps({"error": str(error.body)})

    app.default_error_handler = error_as_json

    @app.get("/api/general_info")
    def general_info() -> dict[str, Any]:
        listed = [
            {"name": spec.name, "group": spec.group, "max_sequence_length": spec.max_sequence_length}
            for spec in api.models.values()
        ]
        return {"version": crfm_eval.__version__, "models": listed, "limits": limits.as_json()}

    @app.post("/api/request")
    def make_request() -> Any:  # a dict, or a cache hit's JSON text as stored
        account = api.authenticated()
        data = api.body({"request"})
        if "request" not in data:
            refuse(400, 'the body must give the request: {"request": {"model": ..., "prompt": ...}}')
        request, spec = parse_request(data["request"], api.models, limits)
        cached = service.cached_json_text(request)
        if cached is not None:
            bottle.response.content_type = "application/json"
            return cached

        def tokens_of(text: str) -> list[str]:
            return service.tokenize(spec.name, text)

        try:
            num_prompt_tokens = len(tokens_of(request.prompt))
        except UserError as error:  # e.g. the proxy has no provider key for this model
            refuse(502, str(error))
        if num_prompt_tokens + request.max_tokens > spec.max_sequence_length:
            refuse(
                413,
                f"the prompt's {num_prompt_tokens} tokens plus max_tokens={request.max_tokens} exceed "
                f"{spec.name}'s window of {spec.max_sequence_length} tokens",
            )
        worst_case = Charge(1, num_prompt_tokens + request.num_completions * request.max_tokens)
        try:
            reservation = accounts.reserve(account, spec.group, worst_case)
        except QuotaExceeded as error:
            refuse(403, str(error))
        used = Charge(0, 0)  # failures are not charged, nor a result another caller's identical call bought
        try:
            result = service.make_request(request)
            if result.success and not result.cached:
                used = Charge(1, num_prompt_tokens + completion_tokens(request, result, num_prompt_tokens, tokens_of))
        except UserError as error:
            refuse(502, str(error))
        finally:
            accounts.settle(reservation, used)
        if not result.success:
            status = 504 if (result.error or "").startswith(TIMEOUT_ERROR) else 502
            return error_response(status, f"the model failed: {result.error}", result=to_jsonable(result))
        return to_jsonable(result)

    @app.post("/api/tokenize")
    def tokenize() -> dict[str, Any]:
        api.authenticated()
        data = api.body({"model", "text"})
        model, text = data.get("model"), data.get("text")
        if not isinstance(model, str) or not isinstance(text, str):
            refuse(400, "give 'model' and 'text' as strings")
        spec = api.models.get(model)
        if spec is None:
            refuse(404, f"unknown model {model!r}; GET /api/general_info lists the models")
        if len(text) > spec.max_sequence_length * limits.max_prompt_chars_per_token:
            refuse(413, f"the text has {len(text)} characters, more than {model}'s window can hold")
        try:
            tokens = service.tokenize(model, text)
        except UserError as error:
            refuse(502, str(error))
        return {"model": model, "tokens": tokens, "num_tokens": len(tokens)}

    add_account_routes(app, api)

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
