"""JSON for specs and states: dataclass <-> plain dict, and deterministic files on disk."""

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, TypeVar

import dacite

T = TypeVar("T")

_STRICT = dacite.Config(strict=True)


def to_jsonable(obj: Any) -> Any:
    """A dataclass (or list of them) as plain JSON-ready data."""
    if isinstance(obj, list):
        return [to_jsonable(item) for item in obj]
    return dataclasses.asdict(obj)


def from_jsonable(cls: type[T], data: dict[str, Any]) -> T:
    """The dataclass `cls` built from plain data; unknown or missing fields are an error."""
    return dacite.from_dict(cls, data, config=_STRICT)


def dumps(data: Any, compact: bool = False) -> str:
    """Deterministic JSON text: the same data always gives the same bytes."""
    return json.dumps(data, ensure_ascii=False, indent=None if compact else 2) + "\n"


def write_json(path: Path, data: Any, compact: bool = False) -> None:
    """Write atomically: a reader (or a killed run) never sees half a file.

    `compact` drops the indentation: for files of many megabytes it halves the time and the size.
    """
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(dumps(data, compact), encoding="utf-8")
    os.replace(temporary, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
