"""The demo site in a real Chromium: the toolbar, its AJAX panels, their toggles.

The demo (``example/``) runs in a subprocess on a throwaway SQLite file, so
the test sees what a developer sees after ``manage.py runserver``: DjDT's
JavaScript loading each panel on click, inside the toolbar's shadow DOM. Its
search and assistant pages drive the real elasticsearch, openai and anthropic
clients against the loopback servers the demo starts itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import free_port

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).resolve().parent.parent / "example"
# Debian's chromium and chromium-driver packages; override where they live elsewhere.
CHROMIUM = (
    os.environ.get("CHROMIUM_BINARY") or shutil.which("chromium") or "/usr/bin/chromium"
)
CHROMEDRIVER = (
    os.environ.get("CHROMEDRIVER_BINARY")
    or shutil.which("chromedriver")
    or "/usr/bin/chromedriver"
)
# Variables that point the demo at real services: the test uses its loopback
# servers, whatever the environment holds.
SERVICE_VARIABLES = re.compile(r"^(OPENAI_|ANTHROPIC_|DEMO_ELASTICSEARCH_)")
WAIT = 20  # seconds; generous for a loaded two-core machine, never a timing assertion
RED = "rgba(255, 0, 0, 1)"  # DjDT's colour for the time of a djDebugRowWarning row


def unavailable(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where the browser must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI is set: the browser test must run.")
    pytest.skip(reason)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.shadowroot import ShadowRoot
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - depends on the environment
    webdriver = None


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo site, migrated on a fresh SQLite file and served by runserver."""
    workdir = tmp_path_factory.mktemp("demo")
    env = {
        key: value
        for key, value in os.environ.items()
        # pytest-django's settings module and pytest's marker must not leak in:
        # the demo runs as a developer would run it.
        if key not in ("DJANGO_SETTINGS_MODULE", "PYTEST_VERSION")
        and not SERVICE_VARIABLES.match(key)
    }
    env["DEMO_DATABASE"] = str(workdir / "db.sqlite3")
    manage = [sys.executable, str(EXAMPLE / "manage.py")]
    subprocess.run(
        [*manage, "migrate", "--noinput", "-v0"], env=env, check=True, timeout=120
    )
    port = free_port()
    log_path = workdir / "runserver.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"runserver exited:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(url + "/", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"runserver did not answer:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if webdriver is None:
        unavailable("selenium is not installed")
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            unavailable(f"{binary} is missing")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    # An explicit driver path: Selenium Manager never downloads anything.
    driver = webdriver.Chrome(
        options=options, service=Service(executable_path=CHROMEDRIVER)
    )
    try:
        yield driver
    finally:
        driver.quit()


def toolbar(driver: Any) -> Any:
    """The toolbar's root, with the toolbar shown (expanded if collapsed).

    DjDT 8 renders the toolbar in a shadow root on ``#djDebugRoot``; older
    versions put ``#djDebug`` straight into the page.
    """
    WebDriverWait(driver, WAIT).until(
        lambda d: (
            d.find_elements(By.ID, "djDebugRoot") or d.find_elements(By.ID, "djDebug")
        )
    )
    hosts = driver.find_elements(By.ID, "djDebugRoot")
    root: ShadowRoot | Any = hosts[0].shadow_root if hosts else driver
    # toolbar.js is an async module: it unhides either the toolbar or its handle.
    WebDriverWait(driver, WAIT).until(
        lambda d: (
            root.find_element(By.CSS_SELECTOR, "#djDebugToolbar").is_displayed()
            or root.find_element(
                By.CSS_SELECTOR, "#djDebugToolbarHandle"
            ).is_displayed()
        )
    )
    if not root.find_element(By.CSS_SELECTOR, "#djDebugToolbar").is_displayed():
        root.find_element(By.CSS_SELECTOR, "#djShowToolBarButton").click()
        WebDriverWait(driver, WAIT).until(
            lambda d: root.find_element(
                By.CSS_SELECTOR, "#djDebugToolbar"
            ).is_displayed()
        )
    return root


def open_panel(driver: Any, root: ShadowRoot, panel_id: str) -> WebElement:
    """Click the panel's button and wait until its AJAX content is in."""
    root.find_element(By.CSS_SELECTOR, f"#djdt-{panel_id} > a").click()
    panel = root.find_element(By.CSS_SELECTOR, f"#{panel_id}")
    WebDriverWait(driver, WAIT).until(
        lambda d: (
            panel.is_displayed()
            and panel.find_elements(By.CSS_SELECTOR, ".djdt-scroll table")
        )
    )
    return panel


def texts(elements: list[WebElement]) -> list[str]:
    # textContent, not .text: DjDT's stylesheet upper-cases table headers.
    return [
        (element.get_attribute("textContent") or "").strip() for element in elements
    ]


def test_feature_flags_panel(browser: Any, demo_url: str, tmp_path: Path) -> None:
    browser.get(demo_url + "/flags/")
    root = toolbar(browser)
    button = root.find_element(By.CSS_SELECTOR, "#djdt-FeatureFlagsPanel")
    assert "6 evaluations of 4 flags, 1 changed" in button.text

    panel = open_panel(browser, root, "FeatureFlagsPanel")
    assert (
        panel.find_element(By.CSS_SELECTOR, ".djDebugPanelTitle h3").text
        == "Feature flags"
    )
    summary, sends = panel.find_elements(By.CSS_SELECTOR, ".djdt-scroll table")

    # One summary row per flag; only the flag that flipped is marked.
    rows = summary.find_elements(By.CSS_SELECTOR, "tbody tr")
    cells = [texts(row.find_elements(By.TAG_NAME, "td")) for row in rows]
    assert cells == [
        ["new-checkout", "2", "True", "No"],
        ["dark-mode", "1", "False", "No"],
        ["search-v2", "2", "False, True", "Yes"],
        ["beta-banner", "1", "False", "No"],
    ]
    marked = ["djDebugRowWarning" in (row.get_attribute("class") or "") for row in rows]
    assert marked == [False, False, True, False]

    # One row per evaluation, with the columns the panel declares.
    headers = texts(sends.find_elements(By.CSS_SELECTOR, "thead th"))
    assert headers == ["Time", "Flag", "Result", "Reason", "Provider"]
    send_rows = sends.find_elements(
        By.CSS_SELECTOR, "tbody tr[id^=FeatureFlagsPanelSend_]"
    )
    flags = [row.find_element(By.CSS_SELECTOR, "td code").text for row in send_rows]
    assert flags == [
        "new-checkout",
        "dark-mode",
        "search-v2",
        "search-v2",
        "new-checkout",
        "beta-banner",
    ]
    reasons = [row.find_elements(By.TAG_NAME, "td")[4].text for row in send_rows]
    assert reasons == ["static", "disabled", "split", "split", "static", "default"]
    # DjDT's stylesheet applies in the shadow root: the flipped flag's sends
    # show their time in red, the others do not.
    colours = [
        row.find_element(By.CSS_SELECTOR, ".djdt-time").value_of_css_property("color")
        for row in send_rows
    ]
    assert [colour == RED for colour in colours] == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]

    screenshot = tmp_path / "feature-flags-panel.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_custom_panel_and_stack_toggle(
    browser: Any, demo_url: str, tmp_path: Path
) -> None:
    browser.get(demo_url + "/recommendations/")
    root = toolbar(browser)
    assert (
        "4 sends"
        in root.find_element(By.CSS_SELECTOR, "#djdt-RecommendationsPanel").text
    )

    panel = open_panel(browser, root, "RecommendationsPanel")
    assert (
        panel.find_element(By.CSS_SELECTOR, ".djDebugPanelTitle h3").text
        == "Recommendations"
    )
    table = panel.find_element(By.CSS_SELECTOR, ".djdt-scroll table")
    headers = texts(table.find_elements(By.CSS_SELECTOR, "thead th"))
    assert headers == ["Time", "Strategy", "Items", "Lookup time", "Cached"]
    rows = table.find_elements(
        By.CSS_SELECTOR, "tbody tr[id^=RecommendationsPanelSend_]"
    )
    strategies = [row.find_element(By.CSS_SELECTOR, "td code").text for row in rows]
    # Two sends come from worker threads; their order between them may vary.
    assert strategies[0] == strategies[3] == "bestsellers"
    assert sorted(strategies[1:3]) == ["also-bought", "trending"]
    # The "json" column is a pretty-printed block, the "duration" one in ms.
    items = rows[0].find_element(By.CSS_SELECTOR, "td pre").text
    assert '"Espresso beans",' in items and "\n" in items
    assert rows[3].find_elements(By.TAG_NAME, "td")[4].text.endswith(" ms")
    assert rows[3].find_elements(By.TAG_NAME, "td")[5].text == "True"

    # A send from a thread, bound with bind_request_context: its "+" reveals
    # the stack of the thread, down to the demo's view code.
    row = rows[strategies.index("also-bought")]
    number = row.get_attribute("id").rsplit("_", 1)[1]
    details = table.find_element(By.CSS_SELECTOR, f"tr.djToggleDetails_{number}")
    assert not details.is_displayed()
    toggle = row.find_element(By.CSS_SELECTOR, "button.djToggleSwitch")
    assert toggle.text == "+"
    toggle.click()
    WebDriverWait(browser, WAIT).until(lambda d: details.is_displayed())
    assert toggle.text == "-"
    stack = details.find_element(By.CSS_SELECTOR, "pre.djdt-stack").text
    assert "views.py in recommend" in stack
    assert "recommendations_served.send(" in stack
    # A worker thread's stack: it starts in the executor, not in the view.
    assert "thread.py in _worker" in stack

    screenshot = tmp_path / "recommendations-panel.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_async_view_records_its_tasks(browser: Any, demo_url: str) -> None:
    browser.get(demo_url + "/async/")
    root = toolbar(browser)
    # Three sends from concurrent asyncio tasks, one flag evaluation.
    assert (
        "3 sends"
        in root.find_element(By.CSS_SELECTOR, "#djdt-RecommendationsPanel").text
    )
    panel = open_panel(browser, root, "RecommendationsPanel")
    rows = panel.find_elements(
        By.CSS_SELECTOR, "tbody tr[id^=RecommendationsPanelSend_]"
    )
    strategies = sorted(
        row.find_element(By.CSS_SELECTOR, "td code").text for row in rows
    )
    assert strategies == ["bestsellers", "new-arrivals", "trending"]
    flags = root.find_element(By.CSS_SELECTOR, "#djdt-FeatureFlagsPanel").text
    assert "1 evaluation of 1 flag" in flags


def test_marked_summary_row_looks_different(browser: Any, demo_url: str) -> None:
    browser.get(demo_url + "/flags/")
    panel = open_panel(browser, toolbar(browser), "FeatureFlagsPanel")
    summary = panel.find_element(By.CSS_SELECTOR, ".djdt-scroll table")

    def look(row: WebElement) -> tuple[str, ...]:
        cell = row.find_element(By.TAG_NAME, "td")
        return (
            row.value_of_css_property("background-color"),
            row.value_of_css_property("border-left-style"),
            cell.value_of_css_property("color"),
            cell.value_of_css_property("font-weight"),
        )

    rows = summary.find_elements(By.CSS_SELECTOR, "tbody tr")
    marked = [
        look(row)
        for row in rows
        if "djDebugRowWarning" in (row.get_attribute("class") or "")
    ]
    plain = [
        look(row)
        for row in rows
        if "djDebugRowWarning" not in (row.get_attribute("class") or "")
    ]
    assert len(marked) == 1 and len(plain) == 3
    assert marked[0] not in plain


def sends(panel: WebElement, panel_id: str) -> tuple[list[str], list[WebElement]]:
    """The headers and rows of a panel's table of sends (the last table)."""
    table = panel.find_elements(By.CSS_SELECTOR, ".djdt-scroll table")[-1]
    headers = texts(table.find_elements(By.CSS_SELECTOR, "thead th"))
    rows = table.find_elements(By.CSS_SELECTOR, f"tbody tr[id^={panel_id}Send_]")
    return headers, rows


def column(headers: list[str], rows: list[WebElement], name: str) -> list[str]:
    """One column's cells; "Time" spans the toggle cell and the time cell."""
    position = headers.index(name) + 1
    return [texts(row.find_elements(By.TAG_NAME, "td"))[position] for row in rows]


def test_elasticsearch_panel(browser: Any, demo_url: str) -> None:
    browser.get(demo_url + "/search/")
    root = toolbar(browser)
    button = root.find_element(By.CSS_SELECTOR, "#djdt-ElasticsearchPanel").text
    assert re.search(r"\b4 queries in \d+\.\d\d ms\b", button), button

    panel = open_panel(browser, root, "ElasticsearchPanel")
    duplicates = panel.find_element(By.CSS_SELECTOR, ".djdt-scroll table")
    cells = texts(duplicates.find_elements(By.CSS_SELECTOR, "tbody td"))
    assert cells[:2] == ["POST", "/demo-products/_search"] and cells[3] == "2"

    headers, rows = sends(panel, "ElasticsearchPanel")
    assert headers == [
        *["Time", "Method", "Path", "Index", "Body", "Status", "Duration"],
        *["Took (ms)", "Hits", "Error"],
    ]
    assert column(headers, rows, "Path") == [
        "/demo-products/_search",
        "/demo-products/_count",
        "/demo-products/_search",
        "/demo-products-archive/_search",
    ]
    assert column(headers, rows, "Status") == ["200", "200", "200", "404"]
    assert "index_not_found_exception" in column(headers, rows, "Error")[3]
    # The repeated search: both of its rows marked, their times in red.
    marked = ["djDebugRowWarning" in (row.get_attribute("class") or "") for row in rows]
    assert marked == [True, False, True, False]
    colours = [
        row.find_element(By.CSS_SELECTOR, ".djdt-time").value_of_css_property("color")
        for row in rows
    ]
    assert [colour == RED for colour in colours] == marked
    # The stack ends at the demo's own call, not inside the client library.
    number = (rows[0].get_attribute("id") or "").rsplit("_", 1)[1]
    rows[0].find_element(By.CSS_SELECTOR, "button.djToggleSwitch").click()
    details = panel.find_element(By.CSS_SELECTOR, f"tr.djToggleDetails_{number}")
    WebDriverWait(browser, WAIT).until(lambda d: details.is_displayed())
    stack = details.find_element(By.CSS_SELECTOR, "pre.djdt-stack").text
    assert stack.rstrip().endswith(
        "results = client.search(index=INDEX, query=query, size=5)"
    )

    # The page's django-flags flag, with the library's reason and source.
    browser.get(demo_url + "/search/?descriptions=on")
    panel = open_panel(browser, toolbar(browser), "FeatureFlagsPanel")
    headers, rows = sends(panel, "FeatureFlagsPanel")
    assert column(headers, rows, "Flag") == ["SEARCH_DESCRIPTIONS"]
    assert column(headers, rows, "Result") == ["True"]
    assert column(headers, rows, "Reason") == ["met: parameter descriptions=on"]
    assert column(headers, rows, "Provider") == ["django-flags"]
    assert column(headers, rows, "Source") == ["settings"]


def test_llm_panel(browser: Any, demo_url: str, tmp_path: Path) -> None:
    browser.get(demo_url + "/assistant/")
    root = toolbar(browser)
    button = root.find_element(By.CSS_SELECTOR, "#djdt-LLMPanel").text
    subtitle = re.search(r"\b4 calls, ([\d,]+) tokens, \d+\.\d\d ms\b", button)
    assert subtitle, button

    panel = open_panel(browser, root, "LLMPanel")
    assert panel.find_element(By.CSS_SELECTOR, ".djDebugPanelTitle h3").text == (
        "LLM calls"
    )
    headers, rows = sends(panel, "LLMPanel")
    assert column(headers, rows, "Provider") == [
        "openai",
        "openai",
        "anthropic",
        "anthropic",
    ]
    assert column(headers, rows, "Stream") == ["False", "True", "False", "True"]
    inputs = [int(cell) for cell in column(headers, rows, "Input tokens")]
    outputs = [int(cell) for cell in column(headers, rows, "Output tokens")]
    assert all(inputs) and all(outputs)
    # The subtitle's tokens are the rows' input and output tokens.
    assert int(subtitle.group(1).replace(",", "")) == sum(inputs) + sum(outputs)
    # Only streams have a time to their first chunk.
    first_chunks = column(headers, rows, "First chunk")
    assert [cell.endswith(" ms") for cell in first_chunks] == [
        False,
        True,
        False,
        True,
    ]
    # The demo turns previews on and prices its models.
    assert all(
        cell.startswith("Which grind size") for cell in column(headers, rows, "Input")
    )
    assert all(float(cell) > 0 for cell in column(headers, rows, "Cost"))

    screenshot = tmp_path / "llm-panel.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_async_client_pages(browser: Any, demo_url: str) -> None:
    # AsyncElasticsearch, AsyncOpenAI and AsyncAnthropic from concurrent tasks.
    browser.get(demo_url + "/search/async/")
    root = toolbar(browser)
    elasticsearch = root.find_element(By.CSS_SELECTOR, "#djdt-ElasticsearchPanel")
    assert re.search(r"\b2 queries in ", elasticsearch.text), elasticsearch.text

    browser.get(demo_url + "/assistant/async/")
    panel = open_panel(browser, toolbar(browser), "LLMPanel")
    headers, rows = sends(panel, "LLMPanel")
    assert sorted(column(headers, rows, "Provider")) == ["anthropic", "openai"]
