"""One request's failure inside the cache never reaches another request (issue 15), and the file
keeps sqlitedict's format."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlitedict import SqliteDict

from crfm_eval.models.cache import TABLE, RequestCache
from crfm_eval.models.service import LocalService
from crfm_eval.specs import ModelSpec
from crfm_eval.states import Request

SIMPLE = ModelSpec(name="simple/deterministic", client="crfm_eval.models.clients.simple.SimpleClient")
LONE_SURROGATE = "x\ud800 N"
"""Valid in a Python string and in JSON (as an escape), impossible in UTF-8."""


def test_a_failing_put_fails_only_its_own_caller(tmp_path):
    """sqlitedict's writer thread kept such an error and raised it in the next caller, whoever it was."""
    cache = RequestCache(tmp_path / "model.sqlite")
    outcomes: dict[str, str] = {}
    lock = threading.Lock()

    def work(index: int) -> None:
        key = f"{LONE_SURROGATE} {index}" if index % 5 == 0 else f"normal {index}"
        try:
            cache.put(key, {"index": index})
            found = cache.get(key)
            outcome = "ok" if found == {"index": index} else f"wrong {found}"
        except Exception as error:  # noqa: BLE001 - the test counts every kind of failure
            outcome = type(error).__name__
        with lock:
            outcomes[key] = outcome

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(300)))
    normal = {key: outcome for key, outcome in outcomes.items() if key.startswith("normal")}
    bad = {key: outcome for key, outcome in outcomes.items() if not key.startswith("normal")}
    assert len(normal) == 240 and set(normal.values()) == {"ok"}
    assert len(bad) == 60 and set(bad.values()) == {"UnicodeEncodeError"}  # each bad key fails its own call
    assert len(cache) == 240
    cache.close()


def test_in_process_service_answers_text_that_utf8_cannot_hold_without_harming_others(tmp_path):
    """The evaluation run's in-process cache: every request succeeds, bad text or not, and is cached."""
    service = LocalService([SIMPLE], tmp_path / "cache")
    prompts = [
        f"Q: {LONE_SURROGATE} {i}\nA: yes\n\nQ: {i}\nA:" if i % 5 == 0 else f"Q: {i}\nA: no\n\nQ: {i}\nA:"
        for i in range(240)
    ]
    requests = [Request(model=SIMPLE.name, prompt=prompt, temperature=0.0, max_tokens=2) for prompt in prompts]
    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(service.make_request, requests))
    assert all(result.success and not result.cached for result in first)
    assert [result.completions[0].text for result in first] == [" yes\n" if i % 5 == 0 else " no\n" for i in range(240)]
    second = [service.make_request(request) for request in requests]
    assert all(result.cached for result in second)
    assert [r.completions for r in second] == [r.completions for r in first]
    service.close()


def test_file_format_is_sqlitedicts(tmp_path):
    """Caches written by sqlitedict (earlier versions) read the same, and the other way round."""
    path = tmp_path / "model.sqlite"

    def encode(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    old = SqliteDict(str(path), tablename=TABLE, journal_mode="WAL", encode=encode, decode=json.loads)
    old["written by sqlitedict"] = {"text": "é", "n": 1}
    old.commit()
    old.close()
    cache = RequestCache(path)
    assert cache.get("written by sqlitedict") == {"text": "é", "n": 1}
    cache.put("written by RequestCache", {"text": "ü"})
    cache.close()
    reread = SqliteDict(str(path), tablename=TABLE, journal_mode="WAL", encode=encode, decode=json.loads, flag="r")
    assert reread["written by RequestCache"] == {"text": "ü"} and len(reread) == 2
    reread.close()


def test_a_cache_hit_as_json_text_says_cached_whatever_the_stored_spacing(tmp_path):
    """The proxy answers hits with the stored text; a result stored with other spacing (or holding
    the flag's spelling inside its text) is decoded and encoded instead."""
    service = LocalService([SIMPLE], tmp_path / "cache")
    tricky = Request(model=SIMPLE.name, prompt='Q: x\nA: "cached":false\n\nQ: x\nA:', temperature=0.0, max_tokens=4)
    service.make_request(tricky)
    assert json.loads(service.cached_json_text(tricky))["cached"] is True
    plain = Request(model=SIMPLE.name, prompt="Q: y\nA: yes\n\nQ: y\nA:", temperature=0.0, max_tokens=2)
    first = service.make_request(plain)
    client, cache = service._client_and_cache(SIMPLE.name)
    spaced = json.dumps({**json.loads(cache.get_text(service._key(client, plain)))}, indent=1)
    cache._connection().execute(f'UPDATE "{TABLE}" SET value = ?', (spaced,))
    answer = json.loads(service.cached_json_text(plain))
    assert answer["cached"] is True and answer["completions"][0]["text"] == first.completions[0].text
    service.close()
