"""Every scenario with its default adaptation in one sweep, then the site: a table per scenario and
MMLU's subjects with their macro average, the numbers equal to the runs' stats.json."""

import functools
import http.server
import json
import re
import threading
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest
from browser import start_chromium
from conftest import run_cli
from site_helpers import build_site, checkout_metadata
from test_site import QuietHandler, _viewer_rows, _wait

from crfm_eval.runner.readers import iter_request_states

SCENARIOS = ("boolq", "mmlu", "imdb")


@pytest.fixture(scope="module")
def swept(tmp_path_factory, shared_data):
    workdir = tmp_path_factory.mktemp("scenarios")
    command = ("-m", f"scenario={','.join(SCENARIOS)}", "model=simple", f"data_dir={shared_data}")
    completed = run_cli(*command, "execution.progress=false", cwd=workdir)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    runs = {}
    for spec_file in (workdir / "outputs" / "runs" / "default").glob("*/run_spec.json"):
        runs[json.loads(spec_file.read_text())["scenario"]["name"]] = spec_file.parent
    assert set(runs) == set(SCENARIOS)
    built = build_site(workdir / "outputs", workdir / "site", checkout_metadata(workdir / "metadata"))
    assert built.returncode == 0, built.stdout + built.stderr
    return workdir, runs


def _stats(run_dir):
    return {(s["name"], s["split"], s.get("sub_split")): s for s in json.loads((run_dir / "stats.json").read_text())}


def test_each_scenario_runs_with_its_own_default_adaptation(swept):
    _, runs = swept
    adaptations = {name: json.loads((run / "run_spec.json").read_text())["adaptation"] for name, run in runs.items()}
    assert adaptations["imdb"]["output_prefix"] == "Sentiment: "
    assert adaptations["boolq"]["output_prefix"] == "Answer: "
    mmlu = _stats(runs["mmlu"])
    subjects = {key[2] for key in mmlu if key[:2] == ("exact_match", "test") and key[2] not in (None, "macro_average")}
    assert len(subjects) == 5
    parts = [mmlu[("exact_match", "test", subject)] for subject in sorted(subjects)]
    # max_eval_instances=100 caps each subject (their test sets have 100 to 270 questions).
    assert [part["count"] for part in parts] == [100] * 5
    assert mmlu[("exact_match", "test", None)]["count"] == 500
    macro = mmlu[("exact_match", "test", "macro_average")]
    assert macro["count"] == 5 and macro["mean"] == pytest.approx(sum(part["mean"] for part in parts) / 5)


class _Tables(HTMLParser):
    """Each table's id and, per row, the data attributes and text of each stat cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[dict, str]]]] = {}
        self._table, self._cells, self._cell = None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._cells = []
            self._table.append(self._cells)
        elif tag == "td" and self._cells is not None:
            self._cell = [{}, ""]
            self._cells.append(self._cell)
        elif tag in ("a", "span") and self._cell is not None and "data-metric" in attrs:
            self._cell[0] = attrs

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data


def test_the_site_shows_a_table_per_scenario_and_mmlus_subjects_with_their_macro_average(swept):
    workdir, runs = swept
    parser = _Tables()
    parser.feed((workdir / "site" / "leaderboard.html").read_text(encoding="utf-8"))
    for scenario in SCENARIOS:
        assert f"leaderboard-{scenario}" in parser.tables
    parts = parser.tables["parts-mmlu"]
    names = [re.sub(r"\s+", "", row[0][1]) for row in parts if row]
    assert names[0] == "macro_average" and len(names) == 6
    mmlu = _stats(runs["mmlu"])
    for row in (row for row in parts if row):
        part = re.sub(r"\s+", "", row[0][1])
        attributes = row[1][0]
        stat = mmlu[(attributes["data-metric"], "test", part)]
        assert float(attributes["data-mean"]) == stat["mean"] and int(float(attributes["data-count"])) == stat["count"]
    assert "parts-boolq" not in parser.tables and "parts-imdb" not in parser.tables


def test_one_model_is_one_entry_across_scenarios_with_their_own_adaptations(swept):
    """Each scenario brings its default adaptation (5shot, mmlu, imdb): the model is still one entry,
    with a row in every scenario's table and one row across scenarios; each heading names the adaptation."""
    workdir, runs = swept
    page = (workdir / "site" / "leaderboard.html").read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(page)
    for scenario in SCENARIOS:
        rows = [row for row in parser.tables[f"leaderboard-{scenario}"] if row]
        assert [row[0][1].strip() for row in rows] == ["simple/deterministic"], scenario
        adaptation = json.loads((runs[scenario] / "run_spec.json").read_text())["adaptation"]["name"]
        assert f"adaptation <code>{adaptation}</code>" in page
    overall = [row for row in parser.tables["leaderboard-overall"] if row]
    assert [row[0][1].strip() for row in overall] == ["simple/deterministic"]


def test_mmlus_default_is_helms_joint_format_with_the_subjects_own_examples(swept):
    _, runs = swept
    adaptation = json.loads((runs["mmlu"] / "run_spec.json").read_text())["adaptation"]
    assert (adaptation["name"], adaptation["method"]) == ("mmlu", "multiple_choice_joint")
    states = list(iter_request_states(runs["mmlu"]))
    for state in states:
        subject = state["instance"]["sub_split"]
        prompt = state["request"]["prompt"]
        intro = f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
        assert prompt.startswith(intro + "Question: ")
        options = "".join(
            f"{letter}. {r['output']}\n" for letter, r in zip("ABCD", state["instance"]["references"], strict=True)
        )
        assert prompt.endswith(f"Question: {state['instance']['input']}\n{options}Answer:")
        assert prompt.count("\nAnswer: ") == 5
        examples = state["train_instance_ids"]
        assert len(examples) == 5 and all(example.startswith(f"train-{subject}-") for example in examples)


def test_a_subjects_number_links_to_that_subjects_instances(swept):
    """In MMLU's parts table a subject's number opens the viewer on that subject's instances only (in
    Chromium); the macro average's on the whole split."""
    workdir, runs = swept
    parser = _Tables()
    parser.feed((workdir / "site" / "leaderboard.html").read_text(encoding="utf-8"))
    links = {re.sub(r"\s+", "", row[0][1]): row[1][0]["href"] for row in parser.tables["parts-mmlu"] if row}
    subject = sorted(part for part in links if part != "macro_average")[0]
    assert parse_qs(urlparse(links[subject]).query)["part"] == [subject]
    assert "part" not in parse_qs(urlparse(links["macro_average"]).query)
    states = list(iter_request_states(runs["mmlu"]))
    expected = [state["instance"]["id"] for state in states if state["instance"]["sub_split"] == subject]
    handler = functools.partial(QuietHandler, directory=str(workdir / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = start_chromium(workdir / "chromium-profile")
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        driver.get(f"{base}/{links[subject]}")
        _wait(driver, lambda: len(_viewer_rows(driver)) == len(expected))
        assert [row.get_attribute("data-instance-id") for row in _viewer_rows(driver)] == expected
        part = driver.find_element("css selector", "select[name=part]")
        assert part.get_attribute("value") == subject and part.is_displayed()
        driver.get(f"{base}/{links['macro_average']}")
        _wait(driver, lambda: len(_viewer_rows(driver)) >= min(len(states), 100) and "part=" not in driver.current_url)
        assert driver.find_element("css selector", "select[name=part]").get_attribute("value") == ""
    finally:
        driver.quit()
        server.shutdown()
