"""django-flags checks recorded by FeatureFlagsPanel, through real requests.

Flags come from the ``FLAGS`` setting and from the database; the views
(``tests/flags_site.py``) check them through each path django-flags offers.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flags.state
import pytest
from asgiref.sync import async_to_sync
from debug_toolbar.store import MemoryStore
from django.db import connection
from django.test import AsyncClient, Client, override_settings
from django.test.utils import CaptureQueriesContext

from djdt_signalpanels import recording
from djdt_signalpanels.integrations import flags as integration
from djdt_signalpanels.panels import FeatureFlagsPanel
from djdt_signalpanels.signals import feature_flag_evaluated
from tests.flag_apps import PANEL, events_of, flag_apps, kwargs_of
from tests.pages import (
    detail_rows,
    render_panel,
    request_id,
    send_rows,
    stored_panel,
    table_rows,
)

PANEL_PATH = "djdt_signalpanels.panels.FeatureFlagsPanel"
WARNING = "djDebugRowWarning"
PROVIDER = {"provider": "django-flags"}

FLAGS = {
    "SETTINGS_ON": [("boolean", True)],
    "SETTINGS_OFF": [("boolean", False)],
    "BETA_PARAM": [("parameter", "beta")],
    "GUARDED": [
        ("boolean", True),
        {"condition": "path matches", "value": "^/nowhere/", "required": True},
    ],
    "EMPTY": [],
    "NESTED": [("other flag", "SETTINGS_ON")],
    "EXPLODES": [("explodes", "boom")],
}
SETTINGS_ONLY = ["flags.sources.SettingsFlagsSource"]

SETTINGS_ON = {
    "name": "SETTINGS_ON",
    "result": True,
    **PROVIDER,
    "reason": "met: boolean True",
    "source": "settings",
    "conditions": [
        {
            "condition": "boolean",
            "value": True,
            "required": False,
            "source": "settings",
            "met": True,
        }
    ],
}


@pytest.fixture(scope="module", autouse=True)
def _project(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with (
        flag_apps("tests.flags_site", django_db_blocker),
        override_settings(FLAGS=FLAGS),
    ):
        integration.install()
        yield
        integration.uninstall()


@pytest.fixture(autouse=True)
def _memory_store(toolbar_config: Callable[..., None]) -> Iterator[None]:
    toolbar_config(
        TOOLBAR_STORE_CLASS="debug_toolbar.store.MemoryStore", RESULTS_CACHE_SIZE=500
    )
    MemoryStore.clear()
    yield
    MemoryStore.clear()


@pytest.fixture
def flag_rows(db: None) -> None:
    """Conditions in the database: DB_ON, and one more for SETTINGS_OFF."""
    from flags.models import FlagState

    FlagState.objects.create(name="DB_ON", condition="boolean", value="True")
    FlagState.objects.create(name="SETTINGS_OFF", condition="parameter", value="open")


def get(client: Client, url: str, **params: Any) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def checks(*specs: str) -> dict[str, list[str]]:
    return {"check": list(specs)}


def test_each_function_records_name_result_reason_and_source(
    client: Client, flag_rows: None
) -> None:
    page = get(
        client,
        "/checks/",
        **checks(
            "enabled:SETTINGS_ON",
            "disabled:SETTINGS_OFF",
            "state:DB_ON",
            "enabled:MISSING",
            "enabled:GUARDED",
            "state:EMPTY",
        ),
    )

    # What the functions returned is what django-flags returns.
    assert "[True, True, True, None, False, False]" in page
    assert kwargs_of(page) == [
        SETTINGS_ON,
        {
            "name": "SETTINGS_OFF",
            "result": False,  # the flag's state, not flag_disabled's answer
            **PROVIDER,
            "reason": "no condition met",
            "source": "settings, database",
            "conditions": [
                {
                    "condition": "boolean",
                    "value": False,
                    "required": False,
                    "source": "settings",
                    "met": False,
                },
                {
                    "condition": "parameter",
                    "value": "open",
                    "required": False,
                    "source": "database",
                    "met": False,
                },
            ],
        },
        {
            "name": "DB_ON",
            "result": True,
            **PROVIDER,
            "reason": "met: boolean True",
            "source": "database",
            "conditions": [
                {
                    "condition": "boolean",
                    "value": "True",
                    "required": False,
                    "source": "database",
                    "met": True,
                }
            ],
        },
        {"name": "MISSING", "result": None, **PROVIDER, "reason": "not defined"},
        {
            "name": "GUARDED",
            "result": False,
            **PROVIDER,
            "reason": "required not met: path matches ^/nowhere/",
            "source": "settings",
            "conditions": [
                {
                    "condition": "boolean",
                    "value": True,
                    "required": False,
                    "source": "settings",
                    "met": True,
                },
                {
                    "condition": "path matches",
                    "value": "^/nowhere/",
                    "required": True,
                    "source": "settings",
                    "met": False,
                },
            ],
        },
        {
            "name": "EMPTY",
            "result": False,
            **PROVIDER,
            "reason": "no conditions",
            "source": "settings",
        },
    ]


def test_a_condition_met_by_the_request(client: Client, flag_rows: None) -> None:
    page = get(
        client,
        "/checks/",
        beta="True",
        open="True",
        **checks("enabled:BETA_PARAM", "enabled:SETTINGS_OFF"),
    )

    beta, settings_off = kwargs_of(page)
    assert (beta["result"], beta["reason"]) == (True, "met: parameter beta")
    assert (settings_off["result"], settings_off["reason"]) == (
        True,
        "met: parameter open",
    )
    assert [condition["met"] for condition in settings_off["conditions"]] == [
        False,
        True,
    ]


def test_the_calling_line_is_the_last_frame(client: Client, flag_rows: None) -> None:
    page = get(
        client,
        "/checks/",
        **checks("enabled:SETTINGS_ON", "disabled:DB_ON", "state:MISSING"),
    )

    for event in events_of(page):
        filename, _, function, source, _ = event["stack"][-1]
        assert filename.endswith("tests/flags_site.py")
        assert function == "checks_view"
        assert source.endswith("# the check")


def test_a_flag_checked_inside_a_condition_is_its_own_check(
    client: Client, flag_rows: None
) -> None:
    page = get(client, "/checks/", **checks("enabled:NESTED"))

    inner, outer = events_of(page)
    assert inner["kwargs"] == SETTINGS_ON
    assert inner["stack"][-1][2] == "other_flag_condition"
    assert outer["kwargs"]["name"] == "NESTED"
    assert outer["kwargs"]["reason"] == "met: other flag SETTINGS_ON"
    assert outer["stack"][-1][2] == "checks_view"


def test_module_attribute_calls(client: Client, flag_rows: None) -> None:
    page = get(client, "/module/")

    assert kwargs_of(page) == [SETTINGS_ON]
    assert events_of(page)[0]["stack"][-1][2] == "module_view"


def test_template_tags(client: Client, flag_rows: None) -> None:
    page = get(client, "/template/", beta="True")

    assert "<p>True False</p>" in page
    on, beta = events_of(page)
    assert on["kwargs"] == SETTINGS_ON
    assert (beta["kwargs"]["name"], beta["kwargs"]["result"]) == ("BETA_PARAM", True)
    # The tag asked: its function is the last frame.
    for event in (on, beta):
        filename, _, function, _, _ = event["stack"][-1]
        assert filename.endswith("flags/templatetags/feature_flags.py")
    assert [on["stack"][-1][2], beta["stack"][-1][2]] == [
        "flag_enabled",
        "flag_disabled",
    ]


def test_jinja2_globals(client: Client, flag_rows: None) -> None:
    page = get(client, "/jinja2/")

    assert "<p>True True</p>" in page
    assert [(kwargs["name"], kwargs["result"]) for kwargs in kwargs_of(page)] == [
        ("SETTINGS_ON", True),
        ("SETTINGS_OFF", False),
    ]


@pytest.mark.parametrize(
    ("url", "params", "text", "flag", "result"),
    [
        ("/decorated/", {}, "decorated", "SETTINGS_ON", True),
        ("/required/", {}, "fallback", "SETTINGS_OFF", False),
        ("/mixin/", {}, "fallback", "BETA_PARAM", False),
        ("/mixin/", {"beta": "True"}, "mixin", "BETA_PARAM", True),
    ],
)
def test_decorators_and_mixin(
    client: Client,
    flag_rows: None,
    url: str,
    params: dict[str, str],
    text: str,
    flag: str,
    result: bool,
) -> None:
    page = get(client, url, **params)

    assert f"<p>{text}</p>" in page
    (event,) = events_of(page)
    assert (event["kwargs"]["name"], event["kwargs"]["result"]) == (flag, result)
    filename, _, function, _, _ = event["stack"][-1]
    assert filename.endswith("flags/decorators.py")
    assert function == "inner"


def test_a_flag_that_flips_mid_request_is_highlighted(
    client: Client, flag_rows: None
) -> None:
    page = get(client, "/flip/")

    assert "[True, False]" in page
    assert [kwargs["result"] for kwargs in kwargs_of(page)] == [True, False]
    assert [kwargs["conditions"][0]["value"] for kwargs in kwargs_of(page)] == [
        "True",
        "False",
    ]
    panel = stored_panel(request_id(page), PANEL)
    assert panel.nav_subtitle == "2 evaluations of 1 flag, 1 changed"
    content = render_panel(client, request_id(page), PANEL)
    assert [WARNING in row.classes for row in send_rows(content, PANEL)] == [True, True]


def test_renders_from_the_store(client: Client, flag_rows: None) -> None:
    page = get(client, "/checks/", **checks("enabled:SETTINGS_ON", "enabled:MISSING"))

    content = render_panel(client, request_id(page), PANEL)

    rows = send_rows(content, PANEL)
    headers = [row for row in table_rows(content) if row.headers][-1].headers
    assert headers == ["Time", "Flag", "Result", "Reason", "Provider", "Source"]
    assert [[cell.text.strip() for cell in row.cells][2:] for row in rows] == [
        ["SETTINGS_ON", "True", "met: boolean True", "django-flags", "settings"],
        ["MISSING", "None", "not defined", "django-flags", "—"],
    ]
    # The conditions are in the first send's details.
    details = detail_rows(content)[0].cells[-1].text
    assert '"condition": "boolean"' in details
    assert '"met": true' in details
    assert "2 evaluations of 2 flags" in page


def test_an_error_in_a_condition_is_recorded_and_raised(
    client: Client, flag_rows: None
) -> None:
    page = get(client, "/raising/")

    assert "condition failed: boom" in page
    (kwargs,) = kwargs_of(page)
    assert kwargs["name"] == "EXPLODES"
    assert kwargs["result"] is None
    assert (kwargs["reason"], kwargs["error_type"]) == ("error", "ValueError")


def test_a_failing_receiver_does_not_break_the_check(
    client: Client, flag_rows: None, caplog: pytest.LogCaptureFixture
) -> None:
    def receiver(**kwargs: Any) -> None:
        raise RuntimeError("receiver failed")

    feature_flag_evaluated.connect(receiver, weak=False, dispatch_uid="test.failing")
    try:
        page = get(client, "/checks/", **checks("enabled:SETTINGS_ON"))
    finally:
        feature_flag_evaluated.disconnect(dispatch_uid="test.failing")

    assert "[True]" in page
    assert kwargs_of(page) == [SETTINGS_ON]
    assert "receiver failed" in caplog.text


def test_async_view(settings: Any, flag_rows: None) -> None:
    settings.FLAG_SOURCES = SETTINGS_ONLY

    async def run() -> str:
        response = await AsyncClient().get(
            "/async/", checks("enabled:SETTINGS_ON", "disabled:SETTINGS_OFF")
        )
        return str(response.content.decode())

    page = async_to_sync(run)()

    assert "[True, True]" in page
    on, off = events_of(page)
    assert on["kwargs"] == SETTINGS_ON
    assert (off["kwargs"]["result"], off["kwargs"]["source"]) == (False, "settings")
    assert on["stack"][-1][2] == "async_view"
    assert on["stack"][-1][3].endswith("# the async check")


def test_async_view_with_the_database_source(flag_rows: None) -> None:
    async def run() -> str:
        response = await AsyncClient().get("/async-database/")
        return str(response.content.decode())

    page = async_to_sync(run)()

    refused, allowed = kwargs_of(page)
    assert (refused["name"], refused["reason"], refused["error_type"]) == (
        "DB_ON",
        "error",
        "SynchronousOnlyOperation",
    )
    assert (allowed["result"], allowed["reason"]) == (True, "met: boolean True")


def tagged(tag: str) -> list[str]:
    return [f"enabled:{tag}-{index}" for index in range(5)] + ["enabled:SETTINGS_ON"]


def names(tag: str) -> list[str]:
    return [f"{tag}-{index}" for index in range(5)] + ["SETTINGS_ON"]


def test_concurrent_threads_see_only_their_own_checks(settings: Any) -> None:
    settings.FLAG_SOURCES = SETTINGS_ONLY  # no database in the threads
    pages: dict[str, str] = {}
    barrier = threading.Barrier(6)

    def run(tag: str) -> None:
        client = Client()
        barrier.wait(timeout=10)
        for round_number in range(3):
            pages[f"{tag}r{round_number}"] = get(
                client, "/checks/", **checks(*tagged(f"{tag}r{round_number}"))
            )

    threads = [threading.Thread(target=run, args=(f"t{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(pages) == 18
    for tag, page in pages.items():
        assert [kwargs["name"] for kwargs in kwargs_of(page)] == names(tag)


def test_concurrent_tasks_see_only_their_own_checks(settings: Any) -> None:
    settings.FLAG_SOURCES = SETTINGS_ONLY

    async def one(tag: str) -> tuple[str, str]:
        response = await AsyncClient().get("/async/", checks(*tagged(tag)))
        return tag, response.content.decode()

    async def run() -> list[tuple[str, str]]:
        return list(await asyncio.gather(*(one(f"a{n}") for n in range(8))))

    for tag, page in async_to_sync(run)():
        assert [kwargs["name"] for kwargs in kwargs_of(page)] == names(tag)


def _queries(check: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as queries:
        check()
    return len(queries.captured_queries)


def test_no_send_and_no_query_more_when_nothing_records(flag_rows: None) -> None:
    sent: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        sent.append(kwargs)

    def check() -> Any:
        return flags.state.flag_enabled("DB_ON")

    assert recording.current() is None
    feature_flag_evaluated.connect(receiver, weak=False, dispatch_uid="test.outside")
    try:
        installed = _queries(check)
        integration.uninstall()
        try:
            uninstrumented = _queries(check)
        finally:
            integration.install()
    finally:
        feature_flag_evaluated.disconnect(dispatch_uid="test.outside")

    assert installed == uninstrumented == 1
    assert sent == []


def test_recording_adds_no_query(client: Client, flag_rows: None) -> None:
    def request() -> str:
        return get(client, "/module/")

    recorded = _queries(request)
    integration.uninstall()
    try:
        page = request()
        uninstrumented = _queries(request)
    finally:
        integration.install()

    assert kwargs_of(page) == []  # nothing recorded without the integration
    assert recorded == uninstrumented


def _wrapped() -> list[bool]:
    from flags.sources import Condition, Flag

    return [
        hasattr(function, "__djdt_signalpanels_original__")
        for function in (
            flags.state._get_flag_state,
            Flag.check_state,
            Condition.check,
        )
    ]


def test_django_flags_is_wrapped_only_while_a_panel_records(client: Client) -> None:
    assert _wrapped() == [False, False, False]
    assert "[True, True, True]" in get(client, "/wrapped/")
    assert _wrapped() == [False, False, False]
    # Counted: the last panel to stop puts the library's functions back.
    assert integration.activate() and integration.activate()
    integration.deactivate()
    assert _wrapped() == [True, True, True]
    integration.deactivate()
    assert _wrapped() == [False, False, False]
    # The functions people call are never replaced.
    assert not hasattr(flags.state.flag_enabled, "__djdt_signalpanels_original__")


@pytest.mark.parametrize("first", ["flags.panels.FlagChecksPanel", PANEL_PATH])
def test_with_django_flags_own_checks_panel(
    client: Client, flag_rows: None, settings: Any, first: str
) -> None:
    # FlagChecksPanel swaps _get_flag_state during its requests too.
    panels = ["flags.panels.FlagChecksPanel", PANEL_PATH]
    settings.DEBUG_TOOLBAR_PANELS = panels if first == panels[0] else panels[::-1]

    page = get(client, "/checks/", **checks("enabled:SETTINGS_ON", "state:DB_ON"))

    assert [(kwargs["name"], kwargs["reason"]) for kwargs in kwargs_of(page)] == [
        ("SETTINGS_ON", "met: boolean True"),
        ("DB_ON", "met: boolean True"),
    ]
    assert all(event["stack"][-1][2] == "checks_view" for event in events_of(page))
    assert _wrapped() == [False, False, False]


def test_install_is_idempotent_and_uninstall_restores() -> None:
    integration.install()
    integration.install()
    assert integration.is_installed()
    integration.uninstall()
    try:
        assert not integration.is_installed()
        assert not integration.activate()  # not installed: nothing to wrap
        assert _wrapped() == [False, False, False]
    finally:
        integration.install()
    assert integration.is_installed()


def test_the_panel_installs_the_integration() -> None:
    integration.uninstall()
    try:
        FeatureFlagsPanel.ready()
        assert integration.is_installed()
    finally:
        integration.install()


NO_LIBRARIES = textwrap.dedent(
    """
    import sys
    sys.modules["flags"] = None
    sys.modules["waffle"] = None
    import django
    from django.conf import settings
    from django.core.management import call_command
    django.setup()
    from djdt_signalpanels.integrations import flags, waffle
    from djdt_signalpanels.panels import FeatureFlagsPanel
    assert not flags.available() and not waffle.available()
    assert not flags.is_installed() and not waffle.is_installed()
    assert FeatureFlagsPanel.run_checks() == []
    call_command("check")
    print("ok")
    """
)


def test_works_without_either_library() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", NO_LIBRARIES],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
