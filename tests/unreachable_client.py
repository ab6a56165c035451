"""A client whose server cannot be reached: it fails when created, the way a client with a wrong
base URL or bad credentials does, so that a whole job fails (used by the sweep tests)."""

from crfm_eval.errors import UserError
from crfm_eval.models.clients.simple import SimpleClient


class UnreachableClient(SimpleClient):
    def __init__(self, base_url: str = "http://127.0.0.1:9") -> None:
        super().__init__()
        raise UserError(f"The model server at {base_url} cannot be reached; start it or fix model.args.base_url.")
