"""The Service over HTTP: the runner's side of `execution=proxy`.

The proxy answers with the same RequestResult JSON the in-process Service returns, so a run
through the proxy and a run in-process give the same results. Problems the user must fix (no
key, wrong key, quota used up, unknown model, proxy unreachable) stop the run with one sentence;
a model that failed comes back as a failed result, like in-process.
"""

import threading
from typing import Any, Optional

import requests

from crfm_eval.errors import UserError
from crfm_eval.json_io import from_jsonable, to_jsonable
from crfm_eval.models.service import Service
from crfm_eval.states import Request, RequestResult

CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 900
"""A local model may queue many requests; the proxy itself bounds upstream calls."""


class RemoteService(Service):
    def __init__(self, url: str, api_key: Optional[str]) -> None:
        self.url = url.rstrip("/")
        self._api_key = api_key
        self._local = threading.local()  # one HTTP session (connection pool) per thread
        self._info: Optional[dict[str, Any]] = None

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _call(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = self._session().request(
                method,
                self.url + path,
                json=body,
                headers=headers,
                timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
            )
        except requests.RequestException as error:
            raise UserError(
                f"Cannot reach the proxy at {self.url} ({type(error).__name__}); start it with "
                "`python -m crfm_eval.proxy` or fix execution.url."
            ) from None
        if response.status_code in (401, 403, 404, 400, 413):
            raise UserError(self._explain(response))
        return response

    def _explain(self, response: requests.Response) -> str:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text[:200]
        hint = {
            401: "set $CRFM_EVAL_API_KEY (or execution.api_key) to your proxy account's key",
            403: "ask the proxy's admin to raise your quota",
            404: "run with a model the proxy serves (GET /api/general_info lists them)",
        }.get(response.status_code, "check the request")
        return f"The proxy at {self.url} answered {response.status_code}: {message}; {hint}."

    def make_request(self, request: Request) -> RequestResult:
        response = self._call("POST", "/api/request", {"request": to_jsonable(request)})
        data = response.json()
        if response.status_code in (502, 504):
            # The model failed behind the proxy: a failed result, as in-process (never cached).
            result = data.get("result")
            return from_jsonable(RequestResult, result) if result else RequestResult(False, error=data.get("error"))
        if response.status_code != 200:
            raise UserError(f"The proxy at {self.url} answered {response.status_code}: {data.get('error')}.")
        return from_jsonable(RequestResult, data)

    def tokenize(self, model: str, text: str) -> list[str]:
        response = self._call("POST", "/api/tokenize", {"model": model, "text": text})
        if response.status_code != 200:
            raise UserError(f"The proxy at {self.url} could not tokenize for {model}: {self._explain(response)}")
        return response.json()["tokens"]

    def context_length(self, model: str) -> Optional[int]:
        if self._info is None:
            self._info = self._call("GET", "/api/general_info").json()
        for entry in self._info["models"]:
            if entry["name"] == model:
                return entry["max_sequence_length"]
        served = ", ".join(entry["name"] for entry in self._info["models"])
        raise UserError(f"The proxy at {self.url} does not serve the model {model}; it serves: {served}.")
