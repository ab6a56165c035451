"""`python -m crfm_eval.proxy.backup BASE_DIR DESTINATION`: a consistent copy of a proxy's data while it serves.

Copies every sqlite file of the base dir (accounts.sqlite, cache/*.sqlite) with sqlite's online
backup API, which reads a consistent snapshot even while the workers write (copying the files with
`cp` could catch a database half-way through a transaction, or miss what is still in its -wal
file), and copies credentials.yaml as it is, readable by its owner only. The destination must not
exist yet: a backup never overwrites another.
"""

import argparse
import shutil
import sqlite3
import sys
from pathlib import Path

from crfm_eval.models.shared_sqlite import LOCK_WAIT_SECONDS


def backup(base_dir: Path, destination: Path) -> list[Path]:
    """The files written under `destination` (which is created; it must not exist)."""
    if not (base_dir / "accounts.sqlite").is_file():
        raise SystemExit(f"{base_dir} is not a proxy base dir (it has no accounts.sqlite).")
    destination.mkdir(parents=True, exist_ok=False)
    written = []
    for source in sorted(base_dir.rglob("*.sqlite")):
        target = destination / source.relative_to(base_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        reader, writer = sqlite3.connect(source, timeout=LOCK_WAIT_SECONDS), sqlite3.connect(target)
        try:
            reader.backup(writer)
        finally:
            reader.close()
            writer.close()
        written.append(target)
    credentials = base_dir / "credentials.yaml"
    if credentials.is_file():
        target = destination / credentials.name
        shutil.copyfile(credentials, target)
        target.chmod(0o600)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m crfm_eval.proxy.backup", description=__doc__.split("\n")[0])
    parser.add_argument("base_dir", type=Path, help="the proxy's --base-dir")
    parser.add_argument("destination", type=Path, help="a new folder for the copy")
    args = parser.parse_args(argv)
    try:
        written = backup(args.base_dir, args.destination)
    except FileExistsError:
        sys.exit(f"{args.destination} exists already; give a new folder (a backup never overwrites another).")
    print(f"Backed up {len(written)} files to {args.destination}")


if __name__ == "__main__":
    main()
