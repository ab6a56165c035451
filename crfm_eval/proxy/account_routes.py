"""The account routes: read your account; admins create, change, delete accounts; rotate keys.

Rules a shared server needs: a boolean is a JSON boolean (`"is_admin": "false"` is refused, not
read as true); a key rotation names the account it rotates (an empty body used to rotate the
caller's own key by accident); the last admin can neither lose its admin right nor be deleted.
"""

import re
from typing import TYPE_CHECKING, Any

import bottle

from crfm_eval.proxy.accounts import Account, AccountError, LastAdminError
from crfm_eval.proxy.json_input import refuse
from crfm_eval.proxy.quotas import QuotaError, Quotas, check_quotas

if TYPE_CHECKING:
    from crfm_eval.proxy.server import Api

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")
"""New usernames: letters, digits and . _ @ + - (no spaces, quotes or control characters, which
would garble the access log)."""

ACCOUNT_FIELDS = {"username", "is_admin", "quotas"}


def add_account_routes(app: bottle.Bottle, api: "Api") -> None:
    accounts, limits = api.accounts, api.limits

    def named(data: dict[str, Any], action: str) -> str:
        username = data.get("username")
        if not isinstance(username, str) or not username:
            refuse(400, f"give the 'username' of the account to {action}")
        if len(username) > limits.max_username_chars:
            refuse(400, f"a username has at most {limits.max_username_chars} characters")
        return username

    def flag(data: dict[str, Any], name: str) -> bool | None:
        value = data.get(name)
        if name in data and not isinstance(value, bool):
            refuse(400, f"{name} must be true or false, not {str(value)[:40]!r}")
        return value

    def quotas_in(data: dict[str, Any]) -> Quotas | None:
        if "quotas" not in data:
            return None
        try:
            return check_quotas(data["quotas"], limits)
        except QuotaError as error:
            refuse(400, str(error))

    def view(account: Account) -> dict[str, Any]:
        return {
            "username": account.username,
            "is_admin": account.is_admin,
            "quotas": account.quotas,
            "usage": accounts.usage(account.username),
        }

    @app.get("/api/account")
    def get_account() -> dict[str, Any]:
        account = api.authenticated()
        unknown = sorted(set(bottle.request.query) - {"username"})
        if unknown:
            refuse(400, f"unknown query parameter(s) {', '.join(unknown)}; only 'username' is read")
        raw = bottle.request.query.get("username")  # as WSGI gives it: the URL's bytes as latin-1
        username = account.username
        if raw:
            try:
                username = raw.encode("latin-1").decode("utf-8")
            except UnicodeError:
                refuse(400, "the username in the query is not UTF-8 text")
            if len(username) > limits.max_username_chars:
                refuse(400, f"a username has at most {limits.max_username_chars} characters")
        if username != account.username:
            api.admin_only(account, "read another account")
        try:
            return view(accounts.get(username))
        except AccountError as error:
            refuse(404, str(error))

    @app.post("/api/account")
    def create_account() -> dict[str, Any]:
        api.admin_only(api.authenticated(), "create accounts")
        data = api.body(ACCOUNT_FIELDS)
        username = named(data, "create")
        if not USERNAME.fullmatch(username):
            refuse(400, "a username may hold only letters, digits and . _ @ + - and must start with a letter or digit")
        is_admin, quotas = flag(data, "is_admin"), quotas_in(data)
        try:
            api_key = accounts.create(username, bool(is_admin), quotas)
        except AccountError as error:
            refuse(409, str(error))
        bottle.response.status = 201
        return {"username": username, "api_key": api_key}

    @app.put("/api/account")
    def update_account() -> dict[str, Any]:
        api.admin_only(api.authenticated(), "change quotas or admin rights")
        data = api.body(ACCOUNT_FIELDS)
        username = named(data, "change")
        is_admin, quotas = flag(data, "is_admin"), quotas_in(data)
        try:
            return view(accounts.update(username, is_admin, quotas))
        except LastAdminError as error:
            refuse(409, str(error))
        except AccountError as error:
            refuse(404, str(error))

    @app.delete("/api/account")
    def delete_account() -> dict[str, Any]:
        account = api.authenticated()
        api.admin_only(account, "delete accounts")
        username = named(api.body({"username"}), "delete")
        if username == account.username:
            refuse(400, "an admin cannot delete their own account")
        try:
            accounts.delete(username)
        except LastAdminError as error:
            refuse(409, str(error))
        except AccountError as error:
            refuse(404, str(error))
        return {"deleted": username}

    @app.put("/api/account/api_key")
    def rotate_api_key() -> dict[str, Any]:
        account = api.authenticated()
        username = named(api.body({"username"}), "rotate the key of (your own included)")
        if username != account.username:
            api.admin_only(account, "rotate another account's key")
        try:
            return {"username": username, "api_key": accounts.rotate_key(username)}
        except AccountError as error:
            refuse(404, str(error))
