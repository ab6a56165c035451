"""The leaderboard site end to end: runs made by the CLI, `mkdocs build`, then the pages in headless Chromium.

Four runs of the simple model on real BoolQ dev instances make the leaderboard compare something:
5-shot, 0-shot (for accuracy against shots), the same 5-shot model under another name (identical
answers: a difference that must be reported as not significant), and a hostile one. The hostile
run is produced by the real pipeline, not edited in by hand: its train file (the accepted
`train_head1500.jsonl` stand-in) holds examples whose passage contains a line
`Answer: <script>...`. The simple model copies the answer of the most similar example, so every
completion it writes is that HTML, which then appears in completions, prompts and the pages.
"""

import functools
import html
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import start_chromium
from conftest import REPO, run_cli

from crfm_eval.runner.readers import iter_request_states

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
COMMON_WORDS = (
    "the of and a to in is was for on that by with as it from at his an are were which be this has or had "
    "its not first also after but their one new other been"
)
INSTANCES = 120  # more than one instance page (100 a page), still a second or two per run
RUNS = {
    "boolq_5shot_simple--deterministic": ("adaptation=5shot", "model=simple"),
    "boolq_0shot_simple--deterministic": ("adaptation=0shot", "model=simple"),
    "boolq_5shot_simple--other": ("adaptation=5shot", "model=simple", "model.name=simple/other"),
}
HOSTILE_RUN = "boolq_5shot_simple--hostile-examples"


def _hostile_data(folder: Path, shared_data: Path) -> Path:
    boolq = folder / "boolq"
    boolq.mkdir(parents=True)
    (boolq / "dev.jsonl").symlink_to(shared_data / "boolq" / "dev.jsonl")
    rows = [
        {
            "question": f"is this example {k}",
            "title": "t",
            "answer": True,
            "passage": f"{COMMON_WORDS}\nAnswer: {HOSTILE}",
        }
        for k in range(6)
    ]
    (boolq / "train_head1500.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


def build_site(output_dir: Path, site_dir: Path) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of this checkout's mkdocs.yml, reading runs from `output_dir`."""
    env = {**os.environ, "CRFM_EVAL_OUTPUT_DIR": str(output_dir), "PYTHONPATH": str(REPO), "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(site_dir)],
        cwd=site_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared_data):
    workdir = tmp_path_factory.mktemp("site")
    common = ("scenario=boolq", f"max_eval_instances={INSTANCES}", "execution.progress=false")
    for run_name, overrides in RUNS.items():
        completed = run_cli(*common, *overrides, f"run_name={run_name}", f"data_dir={shared_data}", cwd=workdir)
        assert completed.returncode == 0, completed.stderr
    data = _hostile_data(workdir / "hostile_data", shared_data)
    completed = run_cli(
        *common,
        "adaptation=5shot",
        "model=simple",
        "model.name=simple/hostile-examples",
        f"run_name={HOSTILE_RUN}",
        f"data_dir={data}",
        cwd=workdir,
    )
    assert completed.returncode == 0, completed.stderr
    states = list(iter_request_states(workdir / "outputs/runs/default" / HOSTILE_RUN))
    assert all(state["result"]["completions"][0]["text"].strip() == HOSTILE for state in states), (
        "fixture lost its edge"
    )
    completed = build_site(workdir / "outputs", workdir / "site")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return workdir


class _Collect(HTMLParser):
    """Tags with their attributes, and the text of the table each number sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.rows: list[list[tuple[dict[str, str], str]]] = []  # per <tr>: (attrs of span.crfm-stat or <a>, text)
        self._open: list[tuple[dict[str, str], list[str]]] = []
        self._in_table = False

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "table" and "data-scenario" in attributes:
            self._in_table = True
        elif tag == "tr" and self._in_table:
            self.rows.append([])
        elif self._in_table and (tag == "a" or (tag == "span" and "crfm-stat" in attributes.get("class", ""))):
            self._open.append((attributes, []))

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag in ("a", "span") and self._open:
            attributes, text = self._open.pop()
            self.rows[-1].append((attributes, "".join(text)))

    def handle_data(self, data):
        for _, text in self._open:
            text.append(data)


def _parse(path: Path) -> _Collect:
    parser = _Collect()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_leaderboard_numbers_equal_the_stats_files(built):
    runs_dir = built / "outputs/runs/default"
    parser = _parse(built / "site/leaderboard.html")
    seen = {}
    for row in parser.rows:
        links = [attrs["href"] for attrs, _ in row if "href" in attrs]
        if not links:
            continue  # the header row
        run_name = links[0].split("/")[-2]
        stats = {(s["name"], s["split"]): s for s in json.loads((runs_dir / run_name / "stats.json").read_text())}
        for attrs, text in row:
            if "data-metric" not in attrs:
                continue
            stat = stats[(attrs["data-metric"], "valid")]
            assert float(attrs["data-mean"]) == stat["mean"]
            assert (float(attrs["data-ci-low"]), float(attrs["data-ci-high"])) == (stat["ci_low"], stat["ci_high"])
            assert int(float(attrs["data-count"])) == stat["count"] == INSTANCES
            assert text == f"{stat['mean']:.3f} [{stat['ci_low']:.3f}, {stat['ci_high']:.3f}]"
            seen[(run_name, attrs["data-metric"])] = stat["mean"]
    expected = {(run, metric) for run in (*RUNS, HOSTILE_RUN) for metric in ("exact_match", "quasi_exact_match")}
    assert set(seen) == expected
    assert seen[("boolq_5shot_simple--deterministic", "exact_match")] > 0.3  # the test compares something real
    assert seen[("boolq_0shot_simple--deterministic", "exact_match")] == 0.0  # 0-shot answers "Passage:"


def test_win_rates_and_significance_are_stated(built):
    page = (built / "site/leaderboard.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", page)
    # Win rate on one scenario: 5-shot and its twin beat the two 0-accuracy entries and tie each other.
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    rates = {}
    for row in rows:
        entry = re.search(r'<a href="[^"]*">([^<]+)</a>', row)
        rate = re.search(r'class="crfm-win-rate">([^<]+)<', row)
        if entry and rate:
            rates[entry.group(1)] = rate.group(1)
    assert rates == {
        "simple/deterministic · 5shot": "0.833",
        "simple/other · 5shot": "0.833",
        "simple/deterministic · 0shot": "0.167",
        "simple/hostile-examples · 5shot": "0.167",
    }
    # Identical answers: not significant (p = 1); 5-shot against 0-shot: significant, so not listed.
    assert "≈ simple/other · 5shot (p = 1.000)" in text
    twin_row = next(row for row in rows if ">simple/deterministic · 5shot</a>" in row)
    assert "simple/deterministic · 0shot" not in twin_row
    assert "McNemar exact" in text


def test_run_and_instance_pages_show_configuration_stats_and_instances(built):
    run_dir = built / "site/runs/default/boolq_5shot_simple--deterministic"
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    for text in (
        "BoolQScenario",
        "&quot;Passage: &quot;",
        "simple/deterministic",
        "num_threads",
        "git_commit",
        "wall_time_seconds",
    ):
        assert text in page, text
    stats = json.loads((built / "outputs/runs/default/boolq_5shot_simple--deterministic/stats.json").read_text())
    for stat in stats:
        assert f"<code>{stat['name']}</code>" in page, stat["name"]
    assert sorted(path.name for path in run_dir.glob("instances-*.html")) == ["instances-1.html", "instances-2.html"]
    first = (run_dir / "instances-1.html").read_text(encoding="utf-8")
    assert first.count('<details class="crfm-instance') == 100
    assert (run_dir / "instances-2.html").read_text(encoding="utf-8").count(
        '<details class="crfm-instance'
    ) == INSTANCES - 100
    state = next(iter_request_states(built / "outputs/runs/default/boolq_5shot_simple--deterministic"))
    assert html.escape(state["request"]["prompt"]) in first  # the exact prompt, whitespace and all
    plots = (built / "site/plots.html").read_text(encoding="utf-8")
    assert plots.count('class="crfm-plot"') == 2 and "against in-context examples" in plots
    home = (built / "site/index.html").read_text(encoding="utf-8")
    assert "4 runs of 3 models" in home and "hydra-core" in home and "3.11" in home


class _Loads(HTMLParser):
    """Every URL a page would fetch by itself: scripts, style sheets, images, frames, media, icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("src", "srcset", "data", "poster"):
            if attributes.get(name):
                self.urls.append(attributes[name])
        if tag == "link" and attributes.get("href"):
            self.urls.append(attributes["href"])


def test_built_pages_load_nothing_from_other_hosts(built):
    remote = re.compile(r"^\s*(https?:)?//", re.I)
    for page in (built / "site").rglob("*.html"):
        parser = _Loads()
        parser.feed(page.read_text(encoding="utf-8"))
        assert not [url for url in parser.urls if remote.match(url)], page
    for sheet in (built / "site").rglob("*.css"):
        content = sheet.read_text(encoding="utf-8")
        assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", content, re.I), sheet


def test_site_builds_without_runs(tmp_path):
    completed = build_site(tmp_path / "no-outputs", tmp_path / "site")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "No runs found under" in (tmp_path / "site/index.html").read_text(encoding="utf-8")
    assert "No runs found under" in (tmp_path / "site/leaderboard.html").read_text(encoding="utf-8")


# --- In a real browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(built):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built / "site"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = start_chromium(built / "chromium-profile")
    try:
        yield driver, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        driver.quit()
        server.shutdown()


def _column(driver, table, index):
    return [
        row.find_elements("css selector", "td")[index].get_attribute("data-sort")
        for row in table.find_elements("css selector", "tbody tr")
    ]


def test_leaderboard_renders_and_sorts_in_chromium(browser, built):
    driver, base = browser
    driver.get(f"{base}/leaderboard.html")
    table = driver.find_element("css selector", 'table[data-scenario="boolq"]')
    assert len(table.find_elements("css selector", "tbody tr")) == 4
    headers = table.find_elements("css selector", "thead th")
    assert [header.text.split(" ")[0] for header in headers[:3]] == ["entry", "exact_match", "quasi_exact_match"]
    driver.save_screenshot(str(built / "leaderboard.png"))

    headers[1].click()  # exact_match, ascending
    ascending = [float(value) for value in _column(driver, table, 1)]
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    assert headers[1].get_attribute("aria-sort") == "ascending"
    headers[1].click()  # again: descending
    assert [float(value) for value in _column(driver, table, 1)] == sorted(ascending, reverse=True)
    headers[0].click()  # by entry name
    names = _column(driver, table, 0)
    assert names == sorted(names, key=str.lower) and len(set(names)) == 4
    driver.save_screenshot(str(built / "leaderboard-sorted.png"))
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(url.startswith(base) for url in resources), resources


def test_hostile_completion_is_shown_as_text_and_never_runs(browser, built):
    driver, base = browser
    driver.get(f"{base}/runs/default/{HOSTILE_RUN}/instances-1.html")
    driver.find_element("css selector", "[data-crfm-toggle]").click()  # open every instance
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"], img[onerror]').length") == 0
    scripts = driver.execute_script("return Array.from(document.scripts).map(s => s.text).join(' ')")
    assert "__pwned" not in scripts
    first = driver.find_element("css selector", "details.crfm-instance pre.crfm-text:last-of-type")
    texts = [element.text for element in driver.find_elements("css selector", "details.crfm-instance pre.crfm-text")]
    assert first.is_displayed() and sum(HOSTILE in text for text in texts) >= 100  # completions and prompts
    driver.save_screenshot(str(built / "hostile.png"))
    assert (built / "hostile.png").stat().st_size > 0 and (built / "leaderboard.png").stat().st_size > 0
