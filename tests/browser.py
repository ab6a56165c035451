"""Headless Chromium for the browser tests, found, or installed when missing, by the tests themselves.

`python -m pytest` must run the browser tests on a fresh machine too, never skip them. PyPI ships
chromedriver (chromedriver-py) but no Chromium build (the packages that claim to download one at
run time, from hosts a closed network cannot reach), so the browser comes from the system:
Chromium and chromedriver on PATH (or $CRFM_EVAL_CHROMIUM / $CRFM_EVAL_CHROMEDRIVER); else, on a
Debian machine where the tests run as root (a container, CI), Debian's `chromium` and
`chromium-driver` packages are installed with apt-get, once; else the tests fail with one sentence
naming the command to run.
"""

import functools
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
DRIVERS = ("chromedriver",)
DEBIAN_PACKAGES = ("chromium", "chromium-driver")
DEBIAN_DIRS = (Path("/usr/bin"), Path("/usr/lib/chromium"))
FIX = (
    "install Chromium and its driver (Debian/Ubuntu: sudo apt-get install chromium chromium-driver; "
    "macOS: brew install --cask chromium chromedriver) or point CRFM_EVAL_CHROMIUM and "
    "CRFM_EVAL_CHROMEDRIVER at them"
)


class BrowserMissing(RuntimeError):
    """Chromium or chromedriver is not on this machine and could not be installed."""


def _find(variable: str, names: Sequence[str], fallback_dirs: Sequence[Path]) -> str | None:
    configured = os.environ.get(variable)
    if configured:
        return configured if shutil.which(configured) else None
    for name in names:
        found = shutil.which(name) or next(
            (str(folder / name) for folder in fallback_dirs if shutil.which(str(folder / name))), None
        )
        if found:
            return found
    return None


def _apt_install() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *DEBIAN_PACKAGES]):
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        if completed.returncode != 0:
            raise BrowserMissing(f"`{' '.join(command)}` failed ({completed.stderr.strip()[-300:]}); {FIX}.")


def _can_install() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def locate_browser(fallback_dirs: Sequence[Path] = DEBIAN_DIRS, can_install: bool | None = None) -> tuple[str, str]:
    """(chromium, chromedriver): found, or installed from Debian's packages when that is possible
    (`can_install`: by default, when running as root on a machine with apt-get)."""
    browser = _find("CRFM_EVAL_CHROMIUM", BROWSERS, fallback_dirs)
    driver = _find("CRFM_EVAL_CHROMEDRIVER", DRIVERS, fallback_dirs)
    if browser and driver:
        return browser, driver
    missing = " and ".join(name for name, path in (("Chromium", browser), ("chromedriver", driver)) if not path)
    if not (_can_install() if can_install is None else can_install and shutil.which("apt-get")):
        raise BrowserMissing(f"{missing} not found for the browser tests: {FIX}.")
    print(f"\n{missing} not found: installing Debian's {' and '.join(DEBIAN_PACKAGES)} with apt-get (once)...")
    _apt_install()
    browser = _find("CRFM_EVAL_CHROMIUM", BROWSERS, fallback_dirs)
    driver = _find("CRFM_EVAL_CHROMEDRIVER", DRIVERS, fallback_dirs)
    if not (browser and driver):
        raise BrowserMissing(
            f"apt-get installed {' and '.join(DEBIAN_PACKAGES)} but {missing} is still missing; {FIX}."
        )
    return browser, driver


@functools.cache
def _browser_for_this_session() -> tuple[str, str]:
    return locate_browser()


def start_chromium(profile_dir: Path):
    """A selenium driver on a fresh profile; fails (never skips) when Chromium cannot be had."""
    try:
        browser, driver = _browser_for_this_session()
    except BrowserMissing as error:
        pytest.fail(str(error))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--window-size=1400,1200",
        f"--user-data-dir={profile_dir}",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))
