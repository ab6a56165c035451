"""The leaderboard site end to end: runs made by the CLI, `mkdocs build` with the plugin found by its
entry point, then the pages in headless Chromium.

Runs of the simple model on real BoolQ dev instances make the leaderboard compare something:
5-shot, 0-shot (for accuracy against shots), the same 5-shot model under another name (identical
answers: a difference that must be reported as not significant), the 5-shot model with another
seed (in another suite: its label must say seed=1), a hostile one, and a job that fails (its model
server cannot be reached). The hostile run is produced by the real pipeline, not edited in by
hand: its train file (the accepted `train_head1500.jsonl` stand-in) holds examples whose passage
contains a line `Answer: <script>...`. The simple model copies the answer of the most similar
example, so every completion it writes is that HTML, which then appears in completions, prompts
and the instance viewer.
"""

import functools
import html
import http.server
import json
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from browser import start_chromium
from conftest import TESTS, run_cli
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait
from site_helpers import build_site, checkout_metadata

from crfm_eval.runner import readers

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
COMMON_WORDS = (
    "the of and a to in is was for on that by with as it from at his an are were which be this has or had "
    "its not first also after but their one new other been"
)
INSTANCES = 120  # more than one shard of the viewer's data (100 requests a file), still a second or two per run
RUNS = {
    "5shot": ("adaptation=5shot", "model=simple"),
    "0shot": ("adaptation=0shot", "model=simple"),
    "other": ("adaptation=5shot", "model=simple", "model.name=simple/other"),
    "seed1": ("adaptation=5shot", "model=simple", "seed=1", "suite=seeds"),
}
LABELS = {
    "5shot": "simple/deterministic · 5shot · seed=0",
    "0shot": "simple/deterministic · 0shot · seed=0",
    "other": "simple/other · 5shot · seed=0",
    "seed1": "simple/deterministic · 5shot · seed=1",
    "hostile": "simple/hostile-examples · 5shot · seed=0",
}


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


def _run_dir(workdir: Path, model_name: str, seed: int = 0) -> Path:
    """The complete run of `model_name` (5-shot, `seed`), found by its spec: folder names are not fixed."""
    for run_dir in sorted((workdir / "outputs/runs").glob("*/*")):
        if not readers.is_complete(run_dir):
            continue
        spec = readers.read_run_spec(run_dir)
        if (spec["model"]["name"], spec["seed"], spec["adaptation"]["name"]) == (model_name, seed, "5shot"):
            return run_dir
    raise AssertionError(f"no run of {model_name}")


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared_data):
    workdir = tmp_path_factory.mktemp("site")
    common = ("scenario=boolq", f"max_eval_instances={INSTANCES}", "execution.progress=false")
    for overrides in RUNS.values():
        completed = run_cli(*common, *overrides, f"data_dir={shared_data}", cwd=workdir)
        assert completed.returncode == 0, completed.stderr
    data = _hostile_data(workdir / "hostile_data", shared_data)
    completed = run_cli(
        *common,
        "adaptation=5shot",
        "model=simple",
        "model.name=simple/hostile-examples",
        f"data_dir={data}",
        cwd=workdir,
    )
    assert completed.returncode == 0, completed.stderr
    search_path = f"hydra.searchpath=[file://{TESTS / 'conf'}]"  # the test-only model `unreachable`
    failed = run_cli(*common, search_path, "model=unreachable", f"data_dir={shared_data}", cwd=workdir)
    assert failed.returncode == 1, failed.stderr
    hostile = _run_dir(workdir, "simple/hostile-examples")
    states = list(readers.iter_request_states(hostile))
    assert all(state["result"]["completions"][0]["text"].strip() == HOSTILE for state in states), (
        "fixture lost its edge"
    )
    completed = build_site(workdir / "outputs", workdir / "site", checkout_metadata(workdir / "metadata"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return workdir


class _Collect(HTMLParser):
    """Tags with their attributes, and per table row of a scenario's table: its links and their text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.rows: list[list[tuple[dict[str, str], str]]] = []
        self._open: list[tuple[dict[str, str], list[str]]] = []
        self._in_table = False

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "table" and "data-scenario" in attributes:
            self._in_table = True
        elif tag == "tr" and self._in_table:
            self.rows.append([])
        elif self._in_table and tag == "a":
            self._open.append((attributes, []))

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag == "a" and self._open:
            attributes, text = self._open.pop()
            self.rows[-1].append((attributes, "".join(text)))

    def handle_data(self, data):
        for _, text in self._open:
            text.append(data)


def _parse(path: Path) -> _Collect:
    parser = _Collect()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _check_numbers(built: Path, page: Path) -> dict[tuple[str, str], float]:
    """Every linked number of the page's scenario tables equals its run's stats.json; returns them."""
    seen = {}
    for row in _parse(page).rows:
        links = [attrs["href"] for attrs, _ in row if "href" in attrs and "crfm-stat" not in attrs.get("class", "")]
        if not links:
            continue  # the header row
        suite, run_name = links[0].split("/")[-3:-1]
        run_dir = built / "outputs/runs" / suite / run_name
        entries = readers.read_stats(run_dir) + readers.read_execution_stats(run_dir)
        stats = {(s["name"], s["split"]): s for s in entries}
        for attrs, text in row:
            if "data-metric" not in attrs:
                continue
            stat = stats[(attrs["data-metric"], "valid")]
            assert float(attrs["data-mean"]) == stat["mean"]
            assert (float(attrs["data-ci-low"]), float(attrs["data-ci-high"])) == (stat["ci_low"], stat["ci_high"])
            assert int(float(attrs["data-count"])) == stat["count"] == INSTANCES
            assert text == f"{stat['mean']:.3f} [{stat['ci_low']:.3f}, {stat['ci_high']:.3f}]"
            query = parse_qs(urlparse(attrs["href"]).query)  # the number links to its instances
            assert query == {"run": [f"{suite}/{run_name}"], "metric": [attrs["data-metric"]], "split": ["valid"]}
            seen[(f"{suite}/{run_name}", attrs["data-metric"])] = stat["mean"]
    return seen


def test_leaderboard_numbers_equal_the_stats_files_and_link_to_their_instances(built):
    seen = _check_numbers(built, built / "site/leaderboard.html")
    assert {metric for _, metric in seen} == {"exact_match", "quasi_exact_match"} and len(seen) == 2 * len(LABELS)
    five = _run_dir(built, "simple/deterministic")
    assert seen[(f"default/{five.name}", "exact_match")] > 0.3  # the test compares something real
    zero = next(key for key in seen if "0shot" in key[0] and key[1] == "exact_match")
    assert seen[zero] == 0.0  # 0-shot answers "Passage:"
    scenario = _check_numbers(built, built / "site/scenarios/boolq.html")
    assert set(scenario) >= set(seen) and ("default/" + five.name, "inference_runtime") in scenario


def test_entry_labels_win_rates_and_significance(built):
    page = (built / "site/leaderboard.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    rates = {}
    for row in rows:
        entry = re.search(r'<a href="runs/[^"]*">([^<]+)</a>', row)
        rate = re.search(r'class="crfm-win-rate">([^<]+)<', row)
        if entry and rate:
            rates[html.unescape(entry.group(1))] = float(rate.group(1))
    # Labels say what tells entries apart: model, adaptation, and the seed that differs between two of them.
    assert set(rates) == set(LABELS.values())
    # Identical answers tie; 0-shot (always wrong) and the hostile run (always "<script>...") are last.
    assert rates[LABELS["5shot"]] == rates[LABELS["other"]] > rates[LABELS["0shot"]]
    assert rates[LABELS["0shot"]] == rates[LABELS["hostile"]] == min(rates.values())
    # Identical answers: not significant (p = 1, also after Holm); 5-shot against 0-shot: significant.
    twin_row = html.unescape(next(row for row in rows if f">{html.escape(LABELS['5shot'])}</a>" in row))
    assert f"{LABELS['other']} (p = 1, Holm 1)" in twin_row and LABELS["0shot"] not in twin_row
    assert "McNemar exact" in text and "after Holm's correction" in text
    about = (built / "site/about.html").read_text(encoding="utf-8")
    assert "Holm’s correction is applied" in about or "Holm's correction is applied" in html.unescape(about)


def test_scenario_page_groups_every_stat_as_the_runs_metric_info_says(built):
    page = (built / "site/scenarios/boolq.html").read_text(encoding="utf-8")
    tables = re.findall(r'<table[^>]*data-group="([^"]+)"[^>]*>(.*?)</table>', page, flags=re.S)
    headers = {group: re.findall(r"<th[^>]*>([^<]+)</th>", content)[1:] for group, content in tables}
    described: dict[str, str] = {}
    names: set[str] = set()
    for run_dir in (_run_dir(built, "simple/deterministic"), _run_dir(built, "simple/other")):
        for name, info in readers.read_metric_info(run_dir).items():
            described.setdefault(name, info["group"])
        names |= {stat["name"] for stat in readers.read_stats(run_dir) + readers.read_execution_stats(run_dir)}
    expected: dict[str, list[str]] = {}
    for name in names:
        expected.setdefault(described.get(name, "other"), []).append(name)
    assert {group: sorted(columns) for group, columns in headers.items()} == {g: sorted(n) for g, n in expected.items()}
    headings = re.findall(r'<h2 id="[^"]*">([^<]+)<', page)
    assert len(headings) >= len(tables) and "exact_match" in str(headers)


def test_failed_run_is_shown_with_its_error(built):
    runs = html.unescape((built / "site/runs.html").read_text(encoding="utf-8"))
    failed = next((built / "outputs/runs").glob("*/*unreachable*"))
    error = readers.read_status(failed)["error"]
    assert "cannot be reached" in error
    row = re.search(r"<tr><td[^>]*><code>[^<]*unreachable[^<]*</code></td>(.*?)</tr>", runs, flags=re.S)
    assert row and ">failed<" in row.group(1) and error in row.group(1)
    assert "unfinished or killed" not in runs


def test_run_pages_and_viewer_data(built):
    five = _run_dir(built, "simple/deterministic")
    site_run = built / "site/runs/default" / five.name
    page = (site_run / "index.html").read_text(encoding="utf-8")
    for text in ("BoolQScenario", "&quot;Passage: &quot;", "simple/deterministic", "num_threads", "git_commit"):
        assert text in page, text
    assert f"<title>{five.name} - crfm_eval leaderboard</title>" in page and "CRFMRUNTITLE" not in page
    for stat in readers.read_stats(five):
        assert f"<code>{stat['name']}</code>" in page, stat["name"]
    assert sorted(path.name for path in (site_run / "data").iterdir()) == ["list.js", "shard-0.js", "shard-1.js"]
    assert not (built / "site/runs/crfm-eval-shell-suite").exists()
    runs_index = (built / "site/data/runs.js").read_text(encoding="utf-8")
    assert runs_index.startswith("crfmEval.receive(") and f"default/{five.name}" in runs_index
    home = (built / "site/index.html").read_text(encoding="utf-8")
    assert "5 runs of 3 models" in home and "hydra-core" in home and "3.11" in home
    plots = (built / "site/plots.html").read_text(encoding="utf-8")
    assert plots.count('class="crfm-plot"') == 2 and "against in-context examples" in plots
    for label in LABELS.values():  # plot labels are whole (wrapped, never cut)
        assert f"<title>{html.escape(label)}</title>" in plots


def test_search_index_holds_runs_and_instances(built):
    index = json.loads((built / "site/search/search_index.json").read_text(encoding="utf-8"))
    five = _run_dir(built, "simple/deterministic")
    seed1 = _run_dir(built, "simple/deterministic", seed=1)
    locations = [doc["location"] for doc in index["docs"] if doc["title"] in (f"Run {five.name}", f"Run {seed1.name}")]
    assert sorted(locations) == [f"runs/default/{five.name}/index.html", f"runs/seeds/{seed1.name}/index.html"]
    instance_id = next(readers.iter_per_instance_stats(five))["instance_id"]
    found = [doc for doc in index["docs"] if doc["title"] == f"boolq instance {instance_id}"]
    assert len(found) == 1 and found[0]["location"].startswith("instances.html?run=")
    # One entry per distinct instance, however many runs asked it (two seeds: a little more than 120).
    instances = [doc for doc in index["docs"] if doc["title"].startswith("boolq instance ")]
    assert INSTANCES < len(instances) < 3 * INSTANCES


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


def test_a_rebuild_reads_only_new_or_changed_runs(built):
    metadata = built / "metadata"
    again = build_site(built / "outputs", built / "site-again", metadata)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "new or changed runs" not in again.stdout + again.stderr  # every run from the build cache
    stats = _run_dir(built, "simple/other") / "stats.json"
    content = stats.read_bytes()
    stats.unlink()
    stats.write_bytes(content)  # the run rewritten (same numbers, a new file)
    changed = build_site(built / "outputs", built / "site-again", metadata)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert f"reading 1 new or changed runs ({len(LABELS) - 1} from the cache)" in changed.stdout + changed.stderr
    assert (built / "site-again/leaderboard.html").read_text(encoding="utf-8").count('class="crfm-stat"') == len(
        (built / "site/leaderboard.html").read_text(encoding="utf-8").split('class="crfm-stat"')
    ) - 1


def test_site_builds_without_runs(tmp_path):
    completed = build_site(tmp_path / "no-outputs", tmp_path / "site", checkout_metadata(tmp_path / "metadata"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "No runs found under" in (tmp_path / "site/index.html").read_text(encoding="utf-8")
    assert "No runs found under" in (tmp_path / "site/leaderboard.html").read_text(encoding="utf-8")


# --- In a real browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(built):
    handler = functools.partial(QuietHandler, directory=str(built / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = start_chromium(built / "chromium-profile")
    try:
        yield driver, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        driver.quit()
        server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _wait(driver, condition, timeout=20):
    """`condition()` once truthy; elements replaced while it looks (the viewer re-renders its rows) are retried."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda _: condition()
    )


def _column(driver, table, index):
    return [
        row.find_elements("css selector", "td")[index].get_attribute("data-sort")
        for row in table.find_elements("css selector", "tbody tr")
    ]


def test_leaderboard_renders_and_sorts_in_chromium(browser, built):
    driver, base = browser
    driver.get(f"{base}/leaderboard.html")
    table = driver.find_element("css selector", 'table[data-scenario="boolq"]')
    assert len(table.find_elements("css selector", "tbody tr")) == len(LABELS)
    headers = table.find_elements("css selector", "thead th")
    assert [header.text.split(" ")[0] for header in headers[:3]] == ["entry", "exact_match", "quasi_exact_match"]
    headers[1].click()  # exact_match, ascending
    ascending = [float(value) for value in _column(driver, table, 1)]
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    headers[1].click()  # again: descending
    assert [float(value) for value in _column(driver, table, 1)] == sorted(ascending, reverse=True)
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(url.startswith(base) for url in resources), resources


def _viewer_rows(driver):
    return driver.find_elements("css selector", "table.crfm-viewer-table tbody tr.crfm-item")


def test_from_a_leaderboard_number_to_a_wrong_instance_prompt(browser, built):
    driver, base = browser
    five = _run_dir(built, "simple/deterministic")
    driver.get(f"{base}/leaderboard.html")
    run_query = urlencode({"run": f"default/{five.name}"})
    cell = driver.find_element(
        "css selector", f'table[data-scenario="boolq"] a.crfm-stat[data-metric="exact_match"][href*="{run_query}&"]'
    )
    cell.click()
    _wait(driver, lambda: len(_viewer_rows(driver)) == INSTANCES)
    assert "instances.html" in driver.current_url
    assert driver.find_element("css selector", "select[name=metric]").get_attribute("value") == "exact_match"
    per_instance = list(readers.iter_per_instance_stats(five))
    wrong = [entry["instance_id"] for entry in per_instance if entry["values"]["exact_match"] == 0]
    driver.find_element("css selector", "input[name=wrong]").click()
    _wait(driver, lambda: len(_viewer_rows(driver)) == len(wrong))
    shown = [row.get_attribute("data-instance-id") for row in _viewer_rows(driver)]
    assert shown == wrong and all("✗" in row.text for row in _viewer_rows(driver))
    assert "wrong=1" in driver.current_url  # the filtered view is a link one can share
    _viewer_rows(driver)[0].find_element("css selector", "a.crfm-open").click()
    detail = _wait(driver, lambda: driver.find_elements("css selector", "tr.crfm-detail-row div.crfm-instance"))[0]
    texts = [element.get_attribute("textContent") for element in detail.find_elements("css selector", "pre.crfm-text")]
    states = list(readers.iter_request_states(five))
    state = next(state for state in states if state["instance"]["id"] == wrong[0])
    assert texts[0] == state["instance"]["input"]
    assert texts[1] == state["request"]["prompt"]  # the exact prompt, rebuilt from the shared parts
    assert texts[2] == state["result"]["completions"][0]["text"]
    # The same instance in another run of the scenario, from the open instance.
    assert detail.find_elements("css selector", "select option")


def test_viewer_searches_by_id_and_text_and_sorts(browser, built):
    driver, base = browser
    five = _run_dir(built, "simple/deterministic")
    driver.get(f"{base}/instances.html?{urlencode({'run': f'default/{five.name}'})}")
    _wait(driver, lambda: len(_viewer_rows(driver)) == INSTANCES)
    per_instance = list(readers.iter_per_instance_stats(five))
    target = per_instance[7]["instance_id"]
    search = driver.find_element("css selector", "input[name=q]")
    search.send_keys(target)
    _wait(driver, lambda: target in [row.get_attribute("data-instance-id") for row in _viewer_rows(driver)])
    states = list(readers.iter_request_states(five))
    words = states[3]["instance"]["input"].split("\n")[-1][:40]  # part of the question, as text
    search.clear()
    search.send_keys(words)
    _wait(
        driver,
        lambda: states[3]["instance"]["id"] in [row.get_attribute("data-instance-id") for row in _viewer_rows(driver)],
    )
    search.clear()
    search.send_keys(" ")
    search.send_keys("\b")
    _wait(driver, lambda: len(_viewer_rows(driver)) == INSTANCES)
    driver.find_element("css selector", 'select[name=metric] option[value="num_prompt_tokens"]').click()
    header = driver.find_element("css selector", 'th[data-column="value"]')
    header.click()  # a value column sorts largest first
    _wait(driver, lambda: header.get_attribute("aria-sort") == "descending")
    values = [float(row.find_element("css selector", "td.crfm-value").text) for row in _viewer_rows(driver)]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]


def test_site_search_reaches_an_instance(browser, built):
    driver, base = browser
    five = _run_dir(built, "simple/deterministic")
    instance_id = list(readers.iter_per_instance_stats(five))[5]["instance_id"]
    driver.get(f"{base}/index.html")
    driver.find_element("css selector", "label.md-search__icon, .md-search__input").click()
    field = driver.find_element("css selector", "input.md-search__input")
    field.send_keys(instance_id)
    link = _wait(
        driver,
        lambda: [
            a
            for a in driver.find_elements("css selector", ".md-search-result a")
            if f"id={instance_id}" in (a.get_attribute("href") or "")
        ],
    )[0]
    driver.get(link.get_attribute("href"))
    detail = _wait(
        driver, lambda: driver.find_elements("css selector", f'div.crfm-instance[data-instance-id="{instance_id}"]')
    )
    assert detail[0].find_elements("css selector", "pre.crfm-text")


def test_hostile_completion_is_shown_as_text_and_never_runs(browser, built):
    driver, base = browser
    hostile = _run_dir(built, "simple/hostile-examples")
    driver.get(f"{base}/instances.html?{urlencode({'run': f'default/{hostile.name}'})}")
    _wait(driver, lambda: len(_viewer_rows(driver)) == INSTANCES)
    for row in _viewer_rows(driver)[:3]:
        row.find_element("css selector", "a.crfm-open").click()
    _wait(driver, lambda: len(driver.find_elements("css selector", "tr.crfm-detail-row div.crfm-instance")) == 3)
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"], img[onerror]').length") == 0
    scripts = driver.execute_script("return Array.from(document.scripts).map(s => s.text).join(' ')")
    assert "__pwned" not in scripts
    texts = [element.text for element in driver.find_elements("css selector", "div.crfm-instance pre.crfm-text")]
    assert sum(HOSTILE in text for text in texts) >= 6  # prompts and completions, as text
    answers = [row.find_elements("css selector", "td code")[0].text for row in _viewer_rows(driver)]
    assert all(HOSTILE.split(">")[0] in answer for answer in answers)  # the list shows it as text too
    # Searching for markup finds it as text.
    driver.find_element("css selector", "input[name=q]").send_keys("<img src=x")
    _wait(driver, lambda: len(_viewer_rows(driver)) == INSTANCES)
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    driver.save_screenshot(str(built / "hostile.png"))
    assert (built / "hostile.png").stat().st_size > 0
