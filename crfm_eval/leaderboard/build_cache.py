"""The site's build cache: each run's viewer files and digest, kept between builds.

Reading a run's request states is the site's whole cost per run, so it is done once per version
of the run. An entry is keyed by a fingerprint of the run's record files (name, size and
modification time of each; see `readers.record_signature`), of the folder, and of the code that
writes the entry. A build then processes only the runs that are new or changed, and copies the
others' files into the site as hard links (no data is copied). `mkdocs serve` rebuilds in a second
or two when one run of a hundred changes.

Layout, under the cache folder (by default `<output_dir>/site_cache`):

    runs/<suite>/<run>/<fingerprint>/digest.json    what the summary pages need from the run
    runs/<suite>/<run>/<fingerprint>/data/...        list.js and shard-<n>.js (run_data.py)
    instances/<hash>.js, <hash>.search.json          instance tables, shared by runs

A run's older entries are removed when a new one is written, entries of run folders that no longer
exist at the end of a build, and instance tables no entry uses any more.
"""

import hashlib
import json
import logging
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Optional

from crfm_eval.leaderboard import paths, run_data
from crfm_eval.runner import readers

log = logging.getLogger("mkdocs.plugins.crfm_eval")

DIGEST_FILE = "digest.json"
ENTRY = "cache_entry"
"""Added to a digest by `build`: its entry folder (the files of the run's version that was read)."""
_CODE_FILES = (Path(run_data.__file__), Path(readers.__file__))


def code_version() -> str:
    """Changes whenever the code that writes cache entries changes (then every entry is rebuilt)."""
    digest = hashlib.sha256(str(run_data.DIGEST_FORMAT).encode())
    for path in _CODE_FILES:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class BuildCache:
    """Cache entries of runs under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.instances_dir = root / "instances"
        self._code = code_version()

    def fingerprint(self, run_dir: Path) -> str:
        signature = [self._code, str(run_dir.resolve()), readers.record_signature(run_dir)]
        return hashlib.sha256(json.dumps(signature).encode("utf-8", "surrogatepass")).hexdigest()[:20]

    def run_root(self, run_dir: Path) -> Path:
        return self.root / "runs" / paths.segment(run_dir.parent.name) / paths.segment(run_dir.name)

    def entry(self, run_dir: Path) -> Path:
        return self.run_root(run_dir) / self.fingerprint(run_dir)

    def build(self, run_dirs: list[Path], workers: int) -> tuple[dict[Path, dict[str, Any]], dict[Path, str]]:
        """The digest of each of `run_dirs` (complete runs), processing those not cached, `workers` at a
        time; and, for a run that cannot be read, why."""
        digests: dict[Path, dict[str, Any]] = {}
        missing = []
        for run_dir in run_dirs:
            entry = self.entry(run_dir)
            digest = _load(entry)
            if digest is None:
                missing.append((run_dir, entry))
            else:
                digests[run_dir] = {**digest, ENTRY: str(entry)}
        errors: dict[Path, str] = {}
        if missing:
            log.info("crfm_eval: reading %d new or changed runs (%d from the cache)", len(missing), len(digests))
            for (run_dir, entry), (digest, error) in zip(missing, self._process(missing, workers), strict=True):
                if digest is not None:
                    digests[run_dir] = {**digest, ENTRY: str(entry)}
                else:
                    errors[run_dir] = str(error)
        return digests, errors

    def _process(
        self, runs: list[tuple[Path, Path]], workers: int
    ) -> list[tuple[Optional[dict[str, Any]], Optional[str]]]:
        jobs = [(run_dir, entry, self.instances_dir) for run_dir, entry in runs]
        if workers <= 1 or len(jobs) == 1:
            return [_process_safely(*job) for job in jobs]
        # A fresh interpreter per worker: `mkdocs serve` has server threads, and forking a process
        # that has threads can leave a lock held forever in the child.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
            return list(pool.map(_process_safely, *zip(*jobs, strict=True)))

    def prune(self, live_runs: list[Path], used_tables: set[str]) -> None:
        """Remove the entries of runs not in `live_runs` and the instance tables not in `used_tables`."""
        keep = {self.run_root(run_dir) for run_dir in live_runs}
        runs_root = self.root / "runs"
        for run_root in runs_root.glob("*/*") if runs_root.is_dir() else []:
            if run_root not in keep:
                shutil.rmtree(run_root, ignore_errors=True)
        for path in self.instances_dir.glob("*") if self.instances_dir.is_dir() else []:
            if path.name.split(".", 1)[0] not in used_tables:
                path.unlink(missing_ok=True)


def _load(entry: Path) -> Optional[dict[str, Any]]:
    try:
        return readers.read_json(entry / DIGEST_FILE)
    except (OSError, ValueError):
        return None


def _process_safely(run_dir: Path, entry: Path, instances_dir: Path) -> tuple[Optional[dict[str, Any]], Optional[str]]:
    """(digest, None), or (None, why) for a run whose files cannot be read: one bad run does not stop the site."""
    try:
        return _process_entry(run_dir, entry, instances_dir), None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return None, f"{type(error).__name__}: {error}"


def _process_entry(run_dir: Path, entry: Path, instances_dir: Path) -> dict[str, Any]:
    """Process one run into a new cache entry (written under a temporary name, then renamed)."""
    temporary = entry.with_name(f"{entry.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    digest = run_data.process_run(run_dir, temporary / "data", instances_dir)
    (temporary / DIGEST_FILE).write_bytes(run_data.json_bytes(digest))
    for sibling in entry.parent.iterdir():
        if ".tmp-" not in sibling.name:
            shutil.rmtree(sibling, ignore_errors=True)  # the run's older versions
    try:
        temporary.rename(entry)
    except OSError:  # another build wrote the same entry meanwhile: same content
        shutil.rmtree(temporary, ignore_errors=True)
    return digest


def link_file(source: Path, target: Path) -> None:
    """Make `target` the file `source`: a hard link (instant, no space), a copy across file systems."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def link_tree(source: Path, target: Path) -> None:
    """Make `target` hold `source`'s files (see `link_file`)."""
    for item in source.iterdir():
        if item.is_dir():
            link_tree(item, target / item.name)
        else:
            link_file(item, target / item.name)
