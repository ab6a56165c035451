"""The quantiles of the confidence intervals (Student's t for a number of degrees of freedom, and the
normal), from scipy, remembered: in this process, and in a file of the cache folder for later runs.

Why a file: importing scipy.special (numpy included) takes 0.35-0.45 s of CPU here, a sixth of a
cached rerun of BoolQ's 3,270 instances (bench/boolq_simple_cold_warm.py) and more of a small run,
only to look up the same one or two numbers every time (a split of N instances needs t for N - 1
degrees of freedom). The file holds scipy's own values, written as JSON floats (which read back
exactly): a run that finds its quantiles there gives byte-identical stats without importing scipy.
scipy.special rather than scipy.stats: the same quantile functions at a third of the import time.
"""

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

FILE = "quantiles.json"

_known: dict[str, float] = {}
"""Quantiles by name (`t:<df>:<p>`, `normal:<p>`), computed or read in this process."""
_new: set[str] = set()
"""The names computed since the last `save`."""


def t_quantile(degrees_of_freedom: int, probability: float) -> float:
    def compute() -> float:
        from scipy.special import stdtrit

        return float(stdtrit(degrees_of_freedom, probability))

    return _remembered(f"t:{degrees_of_freedom}:{probability!r}", compute)


def normal_quantile(probability: float) -> float:
    def compute() -> float:
        from scipy.special import ndtri

        return float(ndtri(probability))

    return _remembered(f"normal:{probability!r}", compute)


def _remembered(name: str, compute: Callable[[], float]) -> float:
    value = _known.get(name)
    if value is None:
        value = _known[name] = compute()
        _new.add(name)
    return value


def load(folder: Path) -> bool:
    """Read the quantiles remembered in `folder`; whether there were any. A missing or unreadable
    file is no error: the quantiles are then computed again."""
    try:
        stored = json.loads((folder / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stored, dict):
        return False
    for name, value in stored.items():
        if isinstance(value, float):
            _known.setdefault(name, value)
    return bool(stored)


def save(folder: Path) -> None:
    """Add the quantiles computed since the last save to `folder`'s file (replaced atomically: two
    runs saving at once lose at most each other's new entries, computed again next time)."""
    if not _new:
        return
    path = folder / FILE
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        merged = stored if isinstance(stored, dict) else {}
    except (OSError, ValueError):
        merged = {}
    merged.update({name: _known[name] for name in _new})
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".quantiles-", delete=False) as file:
            json.dump(merged, file, sort_keys=True)
        os.replace(file.name, path)
    except OSError as error:  # a read-only cache folder: the next run computes them again
        log.debug("Could not remember the quantiles in %s: %s", path, error)
        return
    _new.clear()
