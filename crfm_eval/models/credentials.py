"""Provider keys: from a credentials.yaml file, else from the providers' usual environment variables.

Keys are registered for redaction as soon as they are read, so they never reach a log line.
"""

import os
from pathlib import Path
from typing import Optional

import yaml

from crfm_eval.errors import UserError
from crfm_eval.redaction import register_secret


class Credentials:
    def __init__(self, values: Optional[dict[str, str]] = None) -> None:
        self._values = {key: str(value) for key, value in (values or {}).items() if value}
        for value in self._values.values():
            register_secret(value)

    @classmethod
    def load(cls, path: Optional[Path]) -> "Credentials":
        """Read `path` if it exists (a missing file means: environment variables only)."""
        if path is None or not path.exists():
            return cls()
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise UserError(f"{path} is not valid YAML ({error}); compare it with credentials.yaml.example.") from None
        if not isinstance(values, dict):
            raise UserError(f"{path} must map names to keys, like credentials.yaml.example.")
        return cls(values)

    def get(self, name: str, environment_variable: str) -> Optional[str]:
        """The key `name` from the file, else from `environment_variable`."""
        value = self._values.get(name) or os.environ.get(environment_variable)
        register_secret(value)
        return value
