"""Several processes writing one cache file at once, as the jobs of a sweep do.

    python bench/cache_concurrency.py                       # 2 and 4 processes, 10 fresh files each, then the lock-holder test
    python bench/cache_concurrency.py --processes 8 --puts 2000 --rounds 3 --hold 0

Two variants are compared:
- `plain`: sqlitedict opened as the cache did before sweeps (WAL, a blocking commit per put, no
  preparation, sqlitedict's defaults otherwise);
- `cache`: crfm_eval's RequestCache (the file prepared once under a file lock, a 60 s busy
  timeout, lock errors retried).

Contention: N processes open the same fresh file together and each puts M distinct keys; it
prints puts/s, errors, and whether every entry is in the file at the end. Lock holder: another
process holds the write lock for `--hold` seconds (a stopped job, a slow disk); it prints how long
a put waited and whether it failed.
"""

import argparse
import json
import logging
import multiprocessing
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlitedict import SqliteDict

from crfm_eval.models.cache import TABLE, RequestCache

VALUE = {"success": True, "completions": [{"text": " Yes", "logprob": 0.0}], "padding": "x" * 400}


class PlainCache:
    """sqlitedict as the cache opened it before: WAL, commit per put, 5 s default lock wait."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteDict(
            str(path),
            tablename=TABLE,
            journal_mode="WAL",
            autocommit=False,
            encode=json.dumps,
            decode=json.loads,
            outer_stack=False,
        )

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._db[key] = value
        self._db.commit(blocking=True)

    def get(self, key: str) -> Any:
        return self._db.get(key)

    def close(self) -> None:
        self._db.close()


def open_cache(variant: str, path: Path) -> Any:
    return PlainCache(path) if variant == "plain" else RequestCache(path)


def writer(variant: str, path: Path, worker: int, puts: int, barrier: Any, results: Any) -> None:
    logging.basicConfig(level=logging.CRITICAL)  # sqlitedict logs every inner error at length
    barrier.wait()
    start = time.perf_counter()
    errors: list[str] = []
    done = 0
    try:
        cache = open_cache(variant, path)
    except Exception as error:
        results.put((0, [f"open: {error}"], 0.0))
        return
    for index in range(puts):
        try:
            cache.put(f"{worker}-{index}", VALUE)
            done += 1
        except Exception as error:
            errors.append(f"put: {error}")
    cache.close()
    results.put((done, errors, time.perf_counter() - start))


def count_entries(path: Path) -> int:
    with sqlite3.connect(str(path), timeout=60) as connection:
        return connection.execute(f'SELECT COUNT(*) FROM "{TABLE}"').fetchone()[0]


def contention(variant: str, processes: int, puts: int, rounds: int, folder: Path) -> None:
    context = multiprocessing.get_context("spawn")
    total_puts, total_seconds, error_kinds, missing, failed_rounds = 0, 0.0, {}, 0, 0
    for round_index in range(rounds):
        path = folder / f"{variant}-{processes}-{round_index}.sqlite"
        barrier, results = context.Barrier(processes), context.Queue()
        workers = [
            context.Process(target=writer, args=(variant, path, w, puts, barrier, results)) for w in range(processes)
        ]
        for process in workers:
            process.start()
        outcomes = [results.get() for _ in workers]
        for process in workers:
            process.join()
        done = sum(outcome[0] for outcome in outcomes)
        errors = [error for outcome in outcomes for error in outcome[1]]
        for error in errors:
            error_kinds[error] = error_kinds.get(error, 0) + 1
        failed_rounds += bool(errors)
        total_puts += done
        total_seconds += max(outcome[2] for outcome in outcomes)
        missing += processes * puts - (count_entries(path) if path.exists() else 0)
    print(
        f"{variant:5s} {processes} processes x {puts} puts, {rounds} fresh files: "
        f"{total_puts / total_seconds:,.0f} puts/s, {failed_rounds} rounds with errors, {missing} entries missing"
    )
    for error, count in sorted(error_kinds.items()):
        print(f"      {count} x {error}")


def hold_lock(path: Path, seconds: float, ready: Any) -> None:
    connection = sqlite3.connect(str(path), timeout=60)
    connection.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    connection.rollback()
    connection.close()


def lock_holder(variant: str, hold: float, folder: Path) -> None:
    path = folder / f"{variant}-holder.sqlite"
    open_cache(variant, path).close()  # the file exists, in WAL mode, before the holder takes the lock
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=hold_lock, args=(path, hold, ready))
    holder.start()
    ready.wait()
    logging.getLogger("sqlitedict").setLevel(logging.CRITICAL)
    cache = open_cache(variant, path)
    start = time.perf_counter()
    try:
        cache.put("key", VALUE)
        outcome = "stored"
    except Exception as error:
        outcome = f"FAILED ({error})"
    print(
        f"{variant:5s} another process holds the write lock {hold:.0f} s: the put waited "
        f"{time.perf_counter() - start:.1f} s, {outcome}"
    )
    holder.join()
    cache.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--puts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--hold", type=float, default=8.0, help="seconds the lock holder keeps the lock; 0 to skip")
    args = parser.parse_args()
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    with tempfile.TemporaryDirectory() as folder:
        for processes in args.processes:
            for variant in ("plain", "cache"):
                contention(variant, processes, args.puts, args.rounds, Path(folder))
        if args.hold > 0:
            for variant in ("plain", "cache"):
                lock_holder(variant, args.hold, Path(folder))


if __name__ == "__main__":
    main()
