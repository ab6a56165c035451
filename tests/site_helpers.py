"""Building the leaderboard site of this checkout with `mkdocs build`, as the tests and bench/ do.

MkDocs finds the `crfm_eval` plugin by its entry point, which pip records in the package's
installed metadata (`*.dist-info/entry_points.txt`). The environment's installed crfm_eval may be
another checkout (an editable install of the main worktree), whose metadata predates this one's
pyproject.toml. So the checkout's own metadata is written to a folder put first on PYTHONPATH,
from the `[project]` table and entry points of its pyproject.toml (what pip would record), with the
checkout itself next: `mkdocs build` then loads this checkout's plugin by name, as a user's does.
"""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def checkout_metadata(folder: Path) -> Path:
    """Write the checkout's distribution metadata (name, version, entry points) under `folder`."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist_info = folder / f"{project['name']}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n", encoding="utf-8"
    )
    lines = []
    for group, points in project.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in points.items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def mkdocs_command(site_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "-f",
        str(REPO / "mkdocs.yml"),
        "-d",
        str(site_dir),
        *extra,
    ]


def mkdocs_env(output_dir: Path, metadata_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CRFM_EVAL_OUTPUT_DIR": str(output_dir),
        "PYTHONPATH": os.pathsep.join([str(metadata_dir), str(REPO)]),
        "NO_MKDOCS_2_WARNING": "1",
    }


def build_site(output_dir: Path, site_dir: Path, metadata_dir: Path) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of this checkout's mkdocs.yml, reading runs from `output_dir`."""
    return subprocess.run(
        mkdocs_command(site_dir),
        cwd=site_dir.parent,
        env=mkdocs_env(output_dir, metadata_dir),
        capture_output=True,
        text=True,
        timeout=600,
    )
