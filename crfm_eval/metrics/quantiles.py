"""The quantiles of the confidence intervals (Student's t for a number of degrees of freedom, and the
normal), scipy's values, remembered: in this process, and in a file of the cache folder for later runs.

scipy is never imported in the run's process: the helper process (metrics/helper_process.py)
imports scipy.special and computes the quantiles a run does not find remembered. Importing it takes
0.35-0.45 s of CPU here (numpy included), first done in a background thread of the run: that
thread held the GIL while requests were in flight, and the execute phase of bench/request_rate.py
(16 threads, 50 ms server) reached 0.87 of the limit against 0.92-0.93 without it. A run whose
cache folder remembers no quantile has the helper load scipy when it begins its requests
(`start_helper`; not when a metric loads it there anyway: the toxicity model's scikit-learn), so
scipy is loaded on another core by the time the stats need it.

The file holds scipy's own values, written as JSON floats (which read back exactly, as they come
back from the helper): a run that finds its quantiles there gives byte-identical stats without
starting the helper. scipy.special rather than scipy.stats: the same quantile functions at a third
of the import time.
"""

import json
import logging
import os
import tempfile
from pathlib import Path

from crfm_eval.metrics.helper_process import ask, preload

log = logging.getLogger(__name__)

FILE = "quantiles.json"

_known: dict[str, float] = {}
"""Quantiles by name (`t:<df>:<p>`, `normal:<p>`), computed or read in this process."""
_new: set[str] = set()
"""The names computed since the last `save`."""


def t_quantile(degrees_of_freedom: int, probability: float) -> float:
    return _remembered(f"t:{degrees_of_freedom}:{probability!r}")


def normal_quantile(probability: float) -> float:
    return _remembered(f"normal:{probability!r}")


def _remembered(name: str) -> float:
    value = _known.get(name)
    if value is None:
        answer = ask("quantile", name, lambda error: f"The quantile {name} could not be computed: {error}.")
        value = _known[name] = float(answer.result())
        _new.add(name)
    return value


def start_helper() -> None:
    """Have the helper process import scipy now, on another core, while the run makes its requests."""
    preload("scipy.special")


def compute(name: str) -> float:
    """In the helper: the quantile `name` stands for (`t:<df>:<p>` or `normal:<p>`), from scipy."""
    try:
        from scipy.special import ndtri, stdtrit
    except ImportError as error:
        raise ImportError(f"scipy cannot be imported ({error}); reinstall it with `pip install scipy`") from error
    kind, *args = name.split(":")
    if kind == "t":
        return float(stdtrit(int(args[0]), float(args[1])))
    if kind == "normal":
        return float(ndtri(float(args[0])))
    raise ValueError(f"unknown quantile {name!r}")


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
