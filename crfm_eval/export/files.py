"""Writing exported files: whole (small JSON) or streamed item by item (request states, samples),
always atomically, so that an interrupted export never leaves half a file under the final name."""

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO


@contextmanager
def atomic_text(path: Path) -> Iterator[TextIO]:
    """A text file that appears under `path` only once it is completely written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with temporary.open("w", encoding="utf-8") as file:
            yield file
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_json(path: Path, data: Any) -> Path:
    """Indented like the tools' own files, non-ASCII kept as is."""
    with atomic_text(path) as file:
        file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def write_json_list(path: Path, items: Iterable[Any], head: dict[str, Any] | None = None, key: str = "") -> Path:
    """A JSON list written one item per line: `[...]`, or `{...head, key: [...]}` when `head` is given.

    Only one item is in memory at a time, however many there are.
    """
    with atomic_text(path) as file:
        if head is not None:
            opening = json.dumps(head, ensure_ascii=False)[:-1]  # drop the closing brace
            file.write(f"{opening}{', ' if head else ''}{json.dumps(key)}: [")
        else:
            file.write("[")
        for index, item in enumerate(items):
            file.write(("\n" if index == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
        file.write("\n]}\n" if head is not None else "\n]\n")
    return path


def write_json_lines(path: Path, items: Iterable[Any]) -> Path:
    with atomic_text(path) as file:
        for item in items:
            file.write(json.dumps(item, ensure_ascii=False) + "\n")
    return path
