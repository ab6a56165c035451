"""Data files: use a local copy when there is one, otherwise download it once and check its sha256."""

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import orjson

from crfm_eval.errors import UserError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5
"""Offline machines must fail fast; a reachable host answers a TCP connect well within this."""
READ_TIMEOUT_SECONDS = 60
OFFLINE_VARIABLE = "CRFM_EVAL_OFFLINE"
"""Set to 1 to forbid downloads (tests set it: nothing they run may reach the internet)."""
DATA_DIR_HINT = "point data_dir=... (or the CRFM_EVAL_DATA_DIR environment variable) at a folder holding it"


@dataclass(frozen=True)
class DataFile:
    """A file of a data set: its name, where it can be downloaded and its canonical sha256."""

    name: str
    urls: list[str]
    sha256: Optional[str]
    """None when no canonical sha256 is published: download it into checksums.staged_files, which records it."""
    stand_ins: list[str] = field(default_factory=list)
    """Names of partial local copies accepted (with a warning) when the file itself is absent."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_data_file(folder: Path, data_file: DataFile) -> Path:
    """The path of `data_file` in `folder`: verified local copy, accepted stand-in, or fresh download."""
    path = folder / data_file.name
    if path.exists():
        actual = sha256_of(path)
        if actual != data_file.sha256:
            raise UserError(
                f"{path} has sha256 {actual}, not the canonical {data_file.sha256}; "
                "delete it to download it again, or replace it with the canonical file."
            )
        return path
    for stand_in in data_file.stand_ins:
        if (folder / stand_in).exists():
            log.warning("%s is absent; using the partial copy %s instead.", path, folder / stand_in)
            return folder / stand_in
    return download_file(folder, data_file)


def downloads_allowed() -> bool:
    return os.environ.get(OFFLINE_VARIABLE, "") in ("", "0")


def download_file(folder: Path, data_file: DataFile) -> Path:
    """Download `data_file` into `folder` from its first URL that answers with the canonical sha256.

    The bytes go to `<name>.part` and are renamed into place only once verified, so a reader never
    sees a partial or wrong file.
    """
    path = folder / data_file.name
    if not downloads_allowed():
        raise UserError(
            f"{path} is missing and downloads are off ({OFFLINE_VARIABLE} is set; the file is at "
            f"{data_file.urls[0]}); {DATA_DIR_HINT}."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"{path} is missing and {folder} cannot be created ({error}); {DATA_DIR_HINT}.") from None
    import requests  # here, not at the top: only a download needs it (0.1-0.2 s of every run's start-up)

    failures = []
    for url in data_file.urls:
        partial = path.with_name(path.name + ".part")
        try:
            log.info("Downloading %s", url)
            with requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)) as response:
                response.raise_for_status()
                with partial.open("wb") as handle:
                    for chunk in response.iter_content(chunk_size=1 << 20):
                        handle.write(chunk)
        except (requests.RequestException, OSError) as error:
            failures.append(f"{url}: {type(error).__name__}")
            partial.unlink(missing_ok=True)
            continue
        actual = sha256_of(partial)
        if data_file.sha256 is not None and actual != data_file.sha256:
            failures.append(f"{url}: sha256 {actual} instead of {data_file.sha256}")
            partial.unlink()
            continue
        os.replace(partial, path)
        return path
    raise UserError(
        f"{path} is missing and could not be downloaded from {data_file.urls[0]} "
        f"({'; '.join(failures)}); {DATA_DIR_HINT}."
    )


DOWNLOADED_FILE_FIX = "replace the file with a good copy (or delete it to download it again)"


def read_jsonl(path: Path, fix: str = DOWNLOADED_FILE_FIX) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a malformed line is a UserError naming file,
    line and `fix` (what the user should do about it)."""
    line_number = 0
    try:
        with path.open(encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)  # ~3x json.loads: data sets are read at every run
                except json.JSONDecodeError as error:  # orjson's error is a json.JSONDecodeError
                    raise UserError(f"{path} line {line_number} is not valid JSON ({error.msg}); {fix}.") from None
                if not isinstance(row, dict):
                    raise UserError(f"{path} line {line_number} is not a JSON object; {fix}.")
                yield line_number, row
    except UnicodeDecodeError:
        raise UserError(f"{path} line {line_number + 1} is not UTF-8 text; {fix}.") from None
