"""The manifest: which code, libraries and settings produced a run, and what it cost."""

import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Optional

import crfm_eval

KEY_LIBRARIES = ("hydra-core", "omegaconf", "scipy", "urllib3", "orjson", "ai21", "llama-cpp-python")


def _start_git(*args: str) -> Optional[subprocess.Popen]:
    source_dir = Path(crfm_eval.__file__).resolve().parent
    try:
        return subprocess.Popen(
            ["git", "-C", str(source_dir), *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
    except OSError:
        return None  # no git on the machine


def _git_output(process: Optional[subprocess.Popen]) -> Optional[str]:
    if process is None:
        return None
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    return output.strip() if process.returncode == 0 else None  # not a git checkout (an installed wheel)


def _library_versions() -> dict[str, Optional[str]]:
    versions: dict[str, Optional[str]] = {}
    for name in KEY_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclass
class ManifestFacts:
    """What the manifest says about the code. `git` runs in other processes while the run goes on
    (they took ~0.1 s of every run when asked at the end)."""

    commit: Optional[subprocess.Popen]
    status: Optional[subprocess.Popen]

    @classmethod
    def gather(cls) -> "ManifestFacts":
        return cls(_start_git("rev-parse", "HEAD"), _start_git("status", "--porcelain", "--untracked-files=no"))

    def manifest(self, seed: int, counts: dict[str, Any]) -> dict[str, Any]:
        commit, status = _git_output(self.commit), _git_output(self.status)
        return {
            "package_version": crfm_eval.__version__,
            "git_commit": commit,
            "git_dirty": None if status is None else bool(status),
            "python_version": platform.python_version(),
            "platform": platform.platform(),
            "library_versions": _library_versions(),
            "seed": seed,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **counts,
        }
