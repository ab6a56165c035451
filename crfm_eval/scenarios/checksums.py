"""sha256 checks of the files of a data folder that come out of an archive.

A file is checked against its canonical sha256 where one is published (`known`), else against the
sha256 recorded in the folder's `SHA256SUMS` when crfm_eval extracted it (trust on first download:
a file changed or damaged since then is caught). `SHA256SUMS` uses sha256sum's format, so
`cd <folder> && sha256sum -c SHA256SUMS` checks the folder by hand too.

`staged_files` is how files get into the folder: they are written into a staging folder next to
it, checked, recorded, and only then moved into place, one atomic rename each.
"""

import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from crfm_eval.errors import UserError
from crfm_eval.scenarios.download import sha256_of

log = logging.getLogger(__name__)

SUMS_FILE = "SHA256SUMS"


def recorded_sums(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 recorded in `folder`'s SHA256SUMS (empty when there is none)."""
    path = folder / SUMS_FILE
    if not path.exists():
        return {}
    sums = {}
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        digest, separator, relative = line.partition("  ")
        if not separator or len(digest) != 64:
            raise UserError(f"{path} line {line_number} is not '<sha256>  <file>'; delete {path} to record it again.")
        sums[relative] = digest
    return sums


def _record(folder: Path, sums: dict[str, str]) -> None:
    merged = {**recorded_sums(folder), **sums}
    text = "".join(f"{merged[relative]}  {relative}\n" for relative in sorted(merged))
    temporary = folder / f"{SUMS_FILE}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, folder / SUMS_FILE)


def verify(folder: Path, relatives: list[str], known: dict[str, str]) -> list[str]:
    """Check each file (paths relative to `folder`) that has a canonical or recorded sha256.

    Returns the files that have neither (copied in by hand, not downloaded by crfm_eval): they are
    used unchecked, and the caller says so.
    """
    recorded = recorded_sums(folder)
    unchecked = []
    for relative in relatives:
        expected = known.get(relative) or recorded.get(relative)
        if expected is None:
            unchecked.append(relative)
            continue
        actual = sha256_of(folder / relative)
        if actual != expected:
            origin = "canonical" if relative in known else f"recorded in {folder / SUMS_FILE} at download"
            raise UserError(
                f"{folder / relative} has sha256 {actual}, not the {origin} {expected}; "
                "delete it to download it again, or replace it with the original file."
            )
    return unchecked


@contextmanager
def staged_files(folder: Path, known: dict[str, str]) -> Iterator[Path]:
    """A staging folder to write files into (at their paths relative to `folder`).

    When the block ends without error, every staged file with a canonical sha256 must match it
    (otherwise nothing is moved), the sha256 of each is recorded in SHA256SUMS, and the files are
    moved into `folder`. The staging folder is removed in every case.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    try:
        yield stage
        files = sorted(path for path in stage.rglob("*") if path.is_file())
        sums = {}
        for path in files:
            relative = path.relative_to(stage).as_posix()
            sums[relative] = sha256_of(path)
            if relative in known and sums[relative] != known[relative]:
                raise UserError(
                    f"{relative} in the download has sha256 {sums[relative]}, not the canonical {known[relative]}; "
                    "nothing was installed: report it, or put a verified copy under the data folder."
                )
        # Recorded first: a file moved in below is never left without its record if this stops half way.
        _record(folder, sums)
        for path in files:
            target = folder / path.relative_to(stage)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        log.info("Installed %d files in %s (sha256 recorded in %s).", len(files), folder, SUMS_FILE)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
