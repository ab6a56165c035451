"""The browser tests find Chromium, or install it when they can, or fail in one sentence naming the fix.

This machine's Chromium cannot be uninstalled for a test (other work uses it), so the machine
without it is a PATH without it; Debian's apt-get is then a stand-in script that records how it is
called and puts executables where the real packages put theirs.
"""

import os
import shutil
import stat
from pathlib import Path

import pytest
from browser import DEBIAN_PACKAGES, BrowserMissing, locate_browser


def _executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def bare_machine(tmp_path, monkeypatch):
    """A PATH with only the basic tools: no Chromium, no chromedriver, no apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "mkdir", "chmod", "touch"):  # what the stand-in apt-get uses
        os.symlink(shutil.which(tool), bin_dir / tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("CRFM_EVAL_CHROMIUM", raising=False)
    monkeypatch.delenv("CRFM_EVAL_CHROMEDRIVER", raising=False)
    return bin_dir


def test_missing_chromium_is_installed_with_apt_get(bare_machine, tmp_path):
    calls = tmp_path / "apt-get-calls"
    installed = tmp_path / "usr" / "bin"
    _executable(
        bare_machine / "apt-get",
        f'#!/bin/sh\necho "$@" >> {calls}\n'
        f'if [ "$1" = install ]; then mkdir -p {installed}; '
        f'printf "#!/bin/sh\\n" > {installed}/chromium; printf "#!/bin/sh\\n" > {installed}/chromedriver; '
        f"chmod +x {installed}/chromium {installed}/chromedriver; fi\n",
    )
    browser, driver = locate_browser(fallback_dirs=[installed], can_install=True)  # as root, as CI runs
    assert (browser, driver) == (str(installed / "chromium"), str(installed / "chromedriver"))
    assert calls.read_text().splitlines() == ["update -qq", f"install -y -qq {' '.join(DEBIAN_PACKAGES)}"]


def test_an_installed_chromium_is_used_as_it_is(bare_machine, tmp_path):
    _executable(bare_machine / "chromium")
    _executable(bare_machine / "chromedriver")
    _executable(bare_machine / "apt-get", f"#!/bin/sh\ntouch {tmp_path / 'apt-get-was-called'}\n")
    found = locate_browser(fallback_dirs=[], can_install=True)
    assert found == (str(bare_machine / "chromium"), str(bare_machine / "chromedriver"))
    assert not (tmp_path / "apt-get-was-called").exists()


def test_without_chromium_nor_apt_get_the_failure_names_the_fix(bare_machine):
    with pytest.raises(BrowserMissing) as raised:
        locate_browser(fallback_dirs=[])  # no apt-get on PATH: nothing to install with
    message = str(raised.value)
    assert message.startswith("Chromium and chromedriver not found for the browser tests: install")
    assert "apt-get install chromium chromium-driver" in message and message.count(". ") == 0
