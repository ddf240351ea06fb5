"""django-waffle flag, switch and sample checks recorded by FeatureFlagsPanel.

Real requests through Django's test clients; the views (``tests/waffle_site.py``)
check through each path django-waffle offers. Waffle caches its objects, so
each test starts with an empty cache.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import waffle
import waffle.decorators
import waffle.mixins
from asgiref.sync import async_to_sync
from debug_toolbar.store import MemoryStore
from django.core.cache import caches
from django.db import connection
from django.test import AsyncClient, Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from djdt_signalpanels import recording
from djdt_signalpanels.integrations import waffle as integration
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

WARNING = "djDebugRowWarning"
WAFFLE = {"provider": "django-waffle"}
IN_DATABASE = {"source": "database"}


@pytest.fixture(scope="module", autouse=True)
def _project(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with flag_apps("tests.waffle_site", django_db_blocker):
        integration.install()
        yield
        integration.uninstall()


@pytest.fixture(autouse=True)
def _fresh(toolbar_config: Callable[..., None]) -> Iterator[None]:
    toolbar_config(
        TOOLBAR_STORE_CLASS="debug_toolbar.store.MemoryStore", RESULTS_CACHE_SIZE=500
    )
    MemoryStore.clear()
    caches["default"].clear()  # waffle's cache outlives each test's database
    yield
    MemoryStore.clear()
    caches["default"].clear()


@pytest.fixture
def waffles(db: None) -> dict[str, Any]:
    """Flags, switches and samples, and users for the user rules."""
    from django.contrib.auth.models import User
    from waffle.models import Flag, Sample, Switch

    Flag.objects.create(name="everyone_flag", everyone=True)
    Flag.objects.create(name="everyone_off", everyone=False)
    Flag.objects.create(name="testing_flag", testing=True)
    Flag.objects.create(name="percent_flag", percent="50.0")
    Flag.objects.create(name="staff_flag", staff=True)
    Flag.objects.create(name="language_flag", languages="fr, de")
    Flag.objects.create(name="plain_flag")
    listed = User.objects.create_user("listed")
    Flag.objects.create(name="user_flag").users.add(listed)
    Switch.objects.create(name="on_switch", active=True)
    Switch.objects.create(name="off_switch", active=False)
    Sample.objects.create(name="all_sample", percent="100.0")
    Sample.objects.create(name="none_sample", percent="0.0")
    return {
        "listed": listed,
        "staff": User.objects.create_user("staff", is_staff=True),
        "superuser": User.objects.create_user("super", is_superuser=True),
    }


def reasons(html: str) -> list[tuple[str, Any, Any]]:
    return [(kw["name"], kw["result"], kw.get("reason")) for kw in kwargs_of(html)]


def get(client: Client, url: str, *specs: str, **extra: Any) -> str:
    response = client.get(url, {"check": list(specs)}, **extra)
    assert response.status_code == 200
    return response.content.decode()


def test_flags_switches_and_samples_with_their_reasons(
    client: Client, waffles: dict[str, Any]
) -> None:
    page = get(
        client,
        "/checks/",
        "flag:everyone_flag",
        "flag:everyone_off",
        "flag:plain_flag",
        "flag:missing_flag",
        "switch:on_switch",
        "switch:missing_switch",
        "sample:all_sample",
        "sample:missing_sample",
    )

    assert "[True, False, False, False, True, False, True, False]" in page
    assert kwargs_of(page) == [
        {
            "name": "everyone_flag",
            "result": True,
            **WAFFLE,
            "kind": "flag",
            **IN_DATABASE,
            "reason": "everyone",
        },
        {
            "name": "everyone_off",
            "result": False,
            **WAFFLE,
            "kind": "flag",
            **IN_DATABASE,
            "reason": "everyone",
        },
        {
            "name": "plain_flag",
            "result": False,
            **WAFFLE,
            "kind": "flag",
            **IN_DATABASE,
            "reason": "no rule matched",
        },
        {
            "name": "missing_flag",
            "result": False,
            **WAFFLE,
            "kind": "flag",
            "reason": "not defined (WAFFLE_FLAG_DEFAULT)",
        },
        {
            "name": "on_switch",
            "result": True,
            **WAFFLE,
            "kind": "switch",
            **IN_DATABASE,
        },
        {
            "name": "missing_switch",
            "result": False,
            **WAFFLE,
            "kind": "switch",
            "reason": "not defined (WAFFLE_SWITCH_DEFAULT)",
        },
        {
            "name": "all_sample",
            "result": True,
            **WAFFLE,
            "kind": "sample",
            **IN_DATABASE,
            "reason": "percent 100.0% (random)",
        },
        {
            "name": "missing_sample",
            "result": False,
            **WAFFLE,
            "kind": "sample",
            "reason": "not defined (WAFFLE_SAMPLE_DEFAULT)",
        },
    ]


@pytest.mark.parametrize(
    ("query", "extra", "result", "reason"),
    [
        ({"dwft_testing_flag": "1"}, {}, True, "testing (query string)"),
        ({"dwft_testing_flag": "0"}, {}, False, "testing (query string)"),
        ({}, {"HTTP_DWFT_TESTING_FLAG": "1"}, True, "testing (header)"),
        ({}, {"HTTP_COOKIE": "dwft_testing_flag=True"}, True, "testing (cookie)"),
        ({}, {}, False, "no rule matched"),
    ],
)
def test_testing_mode(
    client: Client,
    waffles: dict[str, Any],
    query: dict[str, str],
    extra: dict[str, str],
    result: bool,
    reason: str,
) -> None:
    response = client.get("/checks/", {"check": "flag:testing_flag", **query}, **extra)

    assert reasons(response.content.decode()) == [("testing_flag", result, reason)]


def test_override_by_query_string(
    client: Client, waffles: dict[str, Any], settings: Any
) -> None:
    settings.WAFFLE_OVERRIDE = True
    response = client.get(
        "/checks/",
        {"check": ["flag:plain_flag", "flag:everyone_flag"], "plain_flag": "1"},
    )

    assert reasons(response.content.decode()) == [
        ("plain_flag", True, "override (query string)"),
        ("everyone_flag", True, "everyone"),
    ]


def test_percent_drawn_then_reused_then_from_the_cookie(
    client: Client, waffles: dict[str, Any]
) -> None:
    page = get(client, "/checks/", "flag:percent_flag", "flag:percent_flag")

    (_, drawn, first), (_, again, second) = reasons(page)
    assert first == "percent 50.0% (random)"
    assert (again, second) == (drawn, "percent 50.0% (earlier in this request)")
    # WaffleMiddleware keeps the draw in a cookie; the next request reads it.
    assert client.cookies["dwf_percent_flag"].value == str(drawn)
    page = get(client, "/checks/", "flag:percent_flag")
    assert reasons(page) == [("percent_flag", drawn, "percent 50.0% (cookie)")]


def test_language(client: Client, waffles: dict[str, Any]) -> None:
    french = get(client, "/checks/", "flag:language_flag", HTTP_ACCEPT_LANGUAGE="fr")
    english = get(client, "/checks/", "flag:language_flag", HTTP_ACCEPT_LANGUAGE="en")

    assert reasons(french) == [("language_flag", True, "language")]
    assert reasons(english) == [("language_flag", False, "no rule matched")]


@pytest.mark.parametrize(
    ("user", "flag", "reason"),
    [
        ("staff", "staff_flag", "staff"),
        ("superuser", "staff_flag", "superusers"),
        ("listed", "user_flag", "users or groups"),
    ],
)
def test_user_rules(
    client: Client, waffles: dict[str, Any], user: str, flag: str, reason: str
) -> None:
    client.force_login(waffles[user])

    page = get(client, "/checks/", f"flag:{flag}")

    assert reasons(page) == [(flag, True, reason)]


def test_a_request_without_a_user(client: Client, waffles: dict[str, Any]) -> None:
    page = get(client, "/no-user/")

    assert reasons(page) == [("plain_flag", False, "no user")]


def test_the_calling_line_is_the_last_frame(
    client: Client, waffles: dict[str, Any]
) -> None:
    page = get(
        client, "/checks/", "flag:everyone_flag", "switch:x", "sample:all_sample"
    )

    for event, kind in zip(events_of(page), ("flag", "switch", "sample"), strict=True):
        filename, _, function, source, _ = event["stack"][-1]
        assert filename.endswith("tests/waffle_site.py")
        assert function == "_check"
        assert source.endswith(f"# the {kind} check")


def test_the_models_own_methods(client: Client, waffles: dict[str, Any]) -> None:
    page = get(client, "/model/")

    assert reasons(page) == [
        ("everyone_flag", True, "everyone"),
        ("on_switch", True, None),
    ]
    assert events_of(page)[0]["stack"][-1][3].endswith("# the model check")


def test_template_tags_and_wafflejs(client: Client, waffles: dict[str, Any]) -> None:
    page = get(client, "/template/")

    assert "<p>flag on switch on sample on</p>" in page
    events = events_of(page)
    assert [(e["kwargs"]["kind"], e["kwargs"]["name"]) for e in events[:3]] == [
        ("flag", "everyone_flag"),
        ("switch", "on_switch"),
        ("sample", "all_sample"),
    ]
    assert events[0]["stack"][-1][2] == "render"  # WaffleNode.render asked
    assert events[0]["stack"][-1][0].endswith("waffle/templatetags/waffle_tags.py")
    # {% wafflejs %} evaluates every flag, switch and sample.
    after_tags = {(e["kwargs"]["kind"], e["kwargs"]["name"]) for e in events[3:]}
    assert ("flag", "percent_flag") in after_tags
    assert ("switch", "off_switch") in after_tags
    assert ("sample", "none_sample") in after_tags
    assert len(after_tags) == 12


def test_jinja2_helpers(client: Client, waffles: dict[str, Any]) -> None:
    page = get(client, "/jinja2/")

    assert "<p>True True False</p>" in page
    assert reasons(page) == [
        ("everyone_flag", True, "everyone"),
        ("on_switch", True, None),
        ("none_sample", False, "percent 0.0% (random)"),
    ]


@pytest.mark.parametrize(
    ("url", "text", "kind", "name", "result"),
    [
        ("/flag-decorated/", "flag decorated", "flag", "everyone_flag", True),
        # "!off_switch": the check records the switch's own state.
        ("/switch-decorated/", "switch decorated", "switch", "off_switch", False),
        ("/flag-mixin/", "flag mixin", "flag", "everyone_flag", True),
        ("/switch-mixin/", "switch mixin", "switch", "on_switch", True),
        ("/sample-mixin/", "sample mixin", "sample", "all_sample", True),
    ],
)
def test_decorators_and_mixins(
    client: Client,
    waffles: dict[str, Any],
    url: str,
    text: str,
    kind: str,
    name: str,
    result: bool,
) -> None:
    page = get(client, url)

    assert f"<p>{text}</p>" in page
    (event,) = events_of(page)
    kwargs = event["kwargs"]
    assert (kwargs["kind"], kwargs["name"], kwargs["result"]) == (kind, name, result)
    assert event["stack"][-1][0].split("/waffle/")[-1] in ("decorators.py", "mixins.py")


def test_a_switch_that_flips_mid_request_is_highlighted(
    client: Client, waffles: dict[str, Any], transactional_db: None
) -> None:
    page = get(client, "/flip/")

    assert "[True, False]" in page
    assert reasons(page) == [("on_switch", True, None), ("on_switch", False, None)]
    assert stored_panel(request_id(page), PANEL).nav_subtitle == (
        "2 evaluations of 1 flag, 1 changed"
    )
    content = render_panel(client, request_id(page), PANEL)
    assert [WARNING in row.classes for row in send_rows(content, PANEL)] == [True, True]


def test_a_flag_and_a_switch_of_the_same_name_are_not_a_change(
    client: Client, waffles: dict[str, Any]
) -> None:
    page = get(client, "/checks/", "switch:on_switch", "flag:on_switch")

    assert stored_panel(request_id(page), PANEL).nav_subtitle == (
        "2 evaluations of 2 flags"
    )


def test_renders_from_the_store(client: Client, waffles: dict[str, Any]) -> None:
    page = get(client, "/checks/", "flag:everyone_flag", "switch:missing_switch")

    content = render_panel(client, request_id(page), PANEL)

    headers = [row for row in table_rows(content) if row.headers]
    assert headers[0].headers == [
        "Flag",
        "Evaluations",
        "Results",
        "Changed in this request",
    ]
    summary = table_rows(content)[1:3]
    assert [row.cells[0].text for row in summary] == [
        "everyone_flag (flag)",
        "missing_switch (switch)",
    ]
    assert headers[-1].headers == [
        "Time",
        "Flag",
        "Result",
        "Reason",
        "Provider",
        "Kind",
        "Source",
    ]
    assert [
        [cell.text.strip() for cell in row.cells][2:]
        for row in send_rows(content, PANEL)
    ] == [
        ["everyone_flag", "True", "everyone", "django-waffle", "flag", "database"],
        [
            "missing_switch",
            "False",
            "not defined (WAFFLE_SWITCH_DEFAULT)",
            "django-waffle",
            "switch",
            "—",
        ],
    ]
    assert len(detail_rows(content)) == 2


def test_async_view(waffles: dict[str, Any]) -> None:
    async def run() -> str:
        response = await AsyncClient().get("/async-database/")
        return str(response.content.decode())

    page = async_to_sync(run)()

    assert "['refused', True, True]" in page
    refused, threaded, cached = events_of(page)
    assert (refused["kwargs"]["reason"], refused["kwargs"]["error_type"]) == (
        "error",
        "SynchronousOnlyOperation",
    )
    assert threaded["kwargs"]["result"] is True
    assert cached["kwargs"]["result"] is True
    assert cached["stack"][-1][2] == "async_database_view"
    assert cached["stack"][-1][3].endswith("# cached now")


def tagged(tag: str) -> list[str]:
    return [f"switch:{tag}-{index}" for index in range(5)] + ["switch:on_switch"]


def names(tag: str) -> list[str]:
    return [spec.split(":", 1)[1] for spec in tagged(tag)]


def _warm(tags: list[str]) -> None:
    """Cache every switch the requests check: then no request queries."""
    for tag in tags:
        for name in names(tag):
            waffle.switch_is_active(name)


def test_concurrent_threads_see_only_their_own_checks(
    waffles: dict[str, Any],
) -> None:
    tags = [
        f"t{thread}r{round_number}" for thread in range(6) for round_number in range(3)
    ]
    _warm(tags)
    pages: dict[str, str] = {}
    barrier = threading.Barrier(6)

    def run(thread: int) -> None:
        client = Client()
        barrier.wait(timeout=10)
        for round_number in range(3):
            tag = f"t{thread}r{round_number}"
            pages[tag] = get(client, "/checks/", *tagged(tag))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(pages) == 18
    for tag, page in pages.items():
        assert [kwargs["name"] for kwargs in kwargs_of(page)] == names(tag)


def test_concurrent_tasks_see_only_their_own_checks(waffles: dict[str, Any]) -> None:
    tags = [f"a{n}" for n in range(8)]
    _warm(tags)

    async def one(tag: str) -> tuple[str, str]:
        response = await AsyncClient().get("/async/", {"check": tagged(tag)})
        return tag, response.content.decode()

    async def run() -> list[tuple[str, str]]:
        return list(await asyncio.gather(*(one(tag) for tag in tags)))

    for tag, page in async_to_sync(run)():
        assert [kwargs["name"] for kwargs in kwargs_of(page)] == names(tag)
        assert events_of(page)[0]["stack"][-1][3].endswith("# the async check")


def _queries(check: Callable[[], Any]) -> int:
    caches["default"].clear()  # the same work each time: nothing cached
    with CaptureQueriesContext(connection) as queries:
        check()
    return len(queries.captured_queries)


def test_no_send_and_no_query_more_when_nothing_records(
    waffles: dict[str, Any],
) -> None:
    request = RequestFactory().get("/")
    request.user = waffles["listed"]
    sent: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        sent.append(kwargs)

    def check() -> Any:
        return waffle.flag_is_active(request, "user_flag")

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

    assert installed == uninstrumented > 0
    assert sent == []


def test_recording_adds_no_query(client: Client, waffles: dict[str, Any]) -> None:
    client.force_login(waffles["listed"])
    specs = ("flag:user_flag", "flag:staff_flag", "switch:on_switch", "sample:x")

    def request() -> str:
        return get(client, "/checks/", *specs)

    recorded = _queries(request)
    integration.uninstall()
    try:
        caches["default"].clear()
        page = request()
        uninstrumented = _queries(request)
    finally:
        integration.install()

    assert kwargs_of(page) == []  # nothing recorded without the integration
    assert recorded == uninstrumented


def test_the_models_are_wrapped_only_while_a_panel_records(
    client: Client, waffles: dict[str, Any]
) -> None:
    from waffle.models import AbstractBaseFlag, AbstractBaseSample, AbstractBaseSwitch

    def wrapped() -> list[bool]:
        return [
            hasattr(model.is_active, "__djdt_signalpanels_original__")
            for model in (AbstractBaseFlag, AbstractBaseSwitch, AbstractBaseSample)
        ]

    assert wrapped() == [False, False, False]
    assert "[True, True, True]" in get(client, "/wrapped/")
    assert wrapped() == [False, False, False]


def test_install_is_idempotent_and_uninstall_restores() -> None:
    from waffle.models import AbstractBaseFlag, AbstractBaseSample, AbstractBaseSwitch

    wrapped = waffle.flag_is_active
    integration.install()
    assert waffle.flag_is_active is wrapped
    assert waffle.decorators.flag_is_active is wrapped
    original = wrapped.__djdt_signalpanels_original__  # type: ignore[attr-defined]

    integration.uninstall()
    try:
        assert not integration.is_installed()
        assert waffle.flag_is_active is original
        assert waffle.mixins.flag_is_active is original
        for model in (AbstractBaseFlag, AbstractBaseSwitch, AbstractBaseSample):
            assert not hasattr(model.is_active, "__djdt_signalpanels_original__")
    finally:
        integration.install()


def test_the_panel_installs_the_integration() -> None:
    integration.uninstall()
    try:
        FeatureFlagsPanel.ready()
        assert integration.is_installed()
    finally:
        integration.install()
