"""The proxy's web page in headless Chromium: pick a model, send a prompt, see completions, logprobs
and whether they came from the cache; a completion that is HTML stays text."""

import pytest
from browser import start_chromium
from proxy_helpers import simple_proxy
from selenium.webdriver.support.ui import Select, WebDriverWait

ADMIN_KEY = "admin-key-web-page-44d1"
HOSTILE = "<img src=x onerror=window.__pwned=1>"
# The simple model answers what the in-context example answered: here, the hostile HTML.
PROMPT = f"Q: x\nA: {HOSTILE}\n\nQ: x\nA:"


@pytest.fixture()
def page(tmp_path):
    with simple_proxy(tmp_path, ADMIN_KEY) as url:
        driver = start_chromium(tmp_path / "profile")
        try:
            driver.get(url + "/")
            yield driver
        finally:
            driver.quit()


def _send(driver) -> str:
    driver.find_element("css selector", "button[type=submit]").click()
    WebDriverWait(driver, 30).until(lambda d: d.find_elements("css selector", "#results .completion"))
    return driver.find_element("css selector", "#results p").text


def test_send_a_prompt_and_see_the_cached_answer(page, tmp_path):
    driver = page
    WebDriverWait(driver, 30).until(lambda d: len(Select(d.find_element("id", "model")).options) == 2)
    driver.find_element("id", "api-key").send_keys(ADMIN_KEY)
    Select(driver.find_element("id", "model")).select_by_value("simple/deterministic")
    prompt = driver.find_element("id", "prompt")
    prompt.clear()
    prompt.send_keys(PROMPT)
    driver.find_element("id", "stop").send_keys("\n")  # an empty line is no stop sequence
    top_k = driver.find_element("id", "top-k")
    top_k.clear()
    top_k.send_keys("2")

    assert _send(driver).startswith("From the model")
    completion = driver.find_element("css selector", "#results .completion pre").text
    assert completion.strip() == HOSTILE  # shown as text
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.execute_script("return document.querySelectorAll('#results img').length") == 0
    rows = driver.find_elements("css selector", "#results table tr")
    assert len(rows) > 1 and "logprob" in rows[0].text
    driver.save_screenshot(str(tmp_path / "proxy-page.png"))

    driver.execute_script("document.getElementById('results').replaceChildren()")
    assert _send(driver).startswith("From the cache")


def test_a_wrong_key_shows_the_error(page):
    driver = page
    WebDriverWait(driver, 30).until(lambda d: len(Select(d.find_element("id", "model")).options) == 2)
    driver.find_element("id", "api-key").send_keys("wrong-key-123")
    driver.find_element("css selector", "button[type=submit]").click()
    WebDriverWait(driver, 30).until(lambda d: d.find_element("id", "status").text.startswith("401"))
    assert "this API key belongs to no account" in driver.find_element("id", "status").text
