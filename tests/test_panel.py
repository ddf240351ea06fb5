"""SignalPanel: column declarations, and the panel as DjDT renders it from its store."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from debug_toolbar.store import get_store
from django.test import Client
from django.utils.translation import gettext_lazy

from djdt_signalpanels import Column
from djdt_signalpanels.panel import as_columns
from djdt_signalpanels.values import MASK
from tests.pages import (
    detail_rows,
    get_request_id,
    render_panel,
    send_rows,
    stored_panel,
    table_rows,
)

SEARCH = "SearchPanel"
FORMATS = "FormatsPanel"


@pytest.fixture
def formats_panel(settings: Any) -> None:
    """List FormatsPanel too; DjDT drops its cached panel classes on setting_changed."""
    settings.DEBUG_TOOLBAR_PANELS = [
        *settings.DEBUG_TOOLBAR_PANELS,
        "tests.panels.FormatsPanel",
    ]


def headers(html: str) -> list[str]:
    """The headers of the sends table (the last table in the content)."""
    return [row for row in table_rows(html) if row.headers][-1].headers


def nav_subtitle(page: str, panel_id: str) -> str:
    """The subtitle under a panel's name in the toolbar of the page itself."""
    item = re.search(rf'<li id="djdt-{panel_id}".*?</li>', page, re.DOTALL)
    assert item, f"{panel_id} is not in the toolbar"
    subtitle = re.search(r"<small>(.*?)</small>", item.group(0), re.DOTALL)
    assert subtitle, f"{panel_id} has no subtitle"
    return subtitle.group(1).strip()


def without_stacks(html: str) -> str:
    """The content minus stack traces, whose source lines quote the view's code."""
    return re.sub(r'<pre class="djdt-stack">.*?</pre>', "", html, flags=re.DOTALL)


# Column declarations


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"name": "took ms"},
            "Column name must be a keyword argument name, got 'took ms'.",
        ),
        ({"name": ""}, "Column name must be a keyword argument name, got ''."),
        ({"name": "1st"}, "Column name must be a keyword argument name, got '1st'."),
        ({"name": 3}, "Column name must be a keyword argument name, got 3."),
        ({"name": "hits", "label": 5}, "Column label must be a string, got 5."),
        (
            {"name": "hits", "format": "markdown"},
            "Column format must be one of text, code, json, duration, bool, number; "
            "got 'markdown'.",
        ),
    ],
)
def test_bad_columns_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as error:
        Column(**kwargs)

    assert str(error.value) == message


def test_default_labels_come_from_the_name() -> None:
    assert Column("hits").label == "Hits"
    assert Column("took_ms").label == "Took ms"
    assert Column("query", "Search query").label == "Search query"


def test_lazy_labels_are_kept_lazy() -> None:
    label = gettext_lazy("Flag")

    assert Column("name", label).label is label


def test_plain_strings_become_text_columns() -> None:
    columns = as_columns(["query", Column("took", format="duration")])

    assert columns == (
        Column("query", "Query"),
        Column("took", "Took", format="duration"),
    )
    assert columns[0].format == "text"
    assert columns[0].optional is False


@pytest.mark.parametrize(
    "specs",
    [["query", "query"], [Column("query", "Query"), "query"], ["a", "b", Column("a")]],
)
def test_duplicate_columns_are_refused(specs: list[Any]) -> None:
    with pytest.raises(ValueError, match="more than once"):
        as_columns(specs)


def test_duplicates_are_named() -> None:
    with pytest.raises(ValueError) as error:
        as_columns(["b", "a", "b", "a", "c"])

    assert str(error.value) == "columns name a, b more than once."


@pytest.mark.parametrize("specs", ["query", b"query", None, 3, {"query"}])
def test_columns_must_be_a_list(specs: Any) -> None:
    with pytest.raises(
        ValueError, match="columns must be a list of Column objects or names"
    ):
        as_columns(specs)


# Rendering from the store


def test_one_row_per_send_and_one_cell_per_column(client: Client) -> None:
    request_id = get_request_id(client, "/sync/?n=3&tag=row")

    content = render_panel(client, request_id, SEARCH)

    assert headers(content) == ["Time", "Query", "Hits", "Took"]
    rows = send_rows(content, SEARCH)
    assert len(rows) == 3
    assert len(detail_rows(content)) == 3
    for index, row in enumerate(rows):
        toggle, time, query, hits, took = row.cells
        assert "+" in toggle.text
        assert re.fullmatch(r"\d+\.\d\d ms", time.text.strip())
        assert query.text == f"row-{index}"
        assert hits.text == str(index)
        assert took.text == "0.50 ms"


def test_every_format(client: Client, formats_panel: None) -> None:
    request_id = get_request_id(client, "/formats/")

    content = render_panel(client, request_id, FORMATS)

    # "never_sent" is optional and no send passed it; "note" one send did.
    assert headers(content) == [
        "Time",
        "Name",
        "Payload",
        "Ok",
        "Took",
        "Count",
        "Note",
    ]
    first, second = send_rows(content, FORMATS)
    name, payload, ok, took, count, note = first.cells[2:]
    assert (name.text, name.tags) == ("checkout", ["code"])
    assert payload.tags == ["pre"]
    assert payload.text == json.dumps({"items": [1, 2], "total": "9.50"}, indent=2)
    assert ok.text == "True"
    assert took.text == "0.50 ms"
    assert count.text == "1,234"
    assert note.text == "first"
    assert [cell.text for cell in second.cells[2:]] == [
        "cart",
        "[]",
        "False",
        "12.00 ms",
        "5",
        "—",
    ]


def test_other_arguments_and_sender_are_in_the_details(
    client: Client, formats_panel: None
) -> None:
    request_id = get_request_id(client, "/formats/")

    content = without_stacks(render_panel(client, request_id, FORMATS))

    first, second = (
        "".join(cell.text for cell in row.cells) for row in detail_rows(content)
    )
    assert "Sender: tests.views.formats_view" in first
    assert "Other arguments:" in first
    assert '"trace_id": "abc-123"' in first
    assert '"note"' not in first  # a column, so not repeated among the others
    # The second send passed only columns, and no sender.
    assert "Other arguments:" not in second
    assert "Sender:" not in second


def test_optional_column_is_hidden_when_no_send_passed_it(
    client: Client, formats_panel: None
) -> None:
    request_id = get_request_id(client, "/formats/")

    content = render_panel(client, request_id, FORMATS)

    assert "Never sent" not in headers(content)
    assert all(len(row.cells) == 2 + 6 for row in send_rows(content, FORMATS))


def test_values_are_escaped(client: Client) -> None:
    request_id = get_request_id(client, "/escape/")

    content = render_panel(client, request_id, SEARCH)

    assert "<script>" not in content
    assert "<b>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    (row,) = send_rows(content, SEARCH)
    assert row.cells[2].text == "<script>alert(1)</script>"
    assert "&lt;b&gt;bold&lt;/b&gt;" in without_stacks(content)


def test_stack_trace_shows_the_sending_code(client: Client) -> None:
    request_id = get_request_id(client, "/sync/?n=1")

    content = render_panel(client, request_id, SEARCH)

    stack = re.search(r'<pre class="djdt-stack">(.*?)</pre>', content, re.DOTALL)
    assert stack
    assert 'class="djdt-func">sync_view<' in stack.group(1)
    assert 'class="djdt-func">search<' in stack.group(1)
    # The recorder and the dispatcher are hidden.
    assert "recording.py" not in stack.group(1)
    assert "dispatcher.py" not in stack.group(1)


def test_without_stack_traces_the_details_say_so(
    client: Client, toolbar_config: Any
) -> None:
    toolbar_config(ENABLE_STACKTRACES=False)
    request_id = get_request_id(client, "/sync/?n=1")

    content = render_panel(client, request_id, SEARCH)

    assert "djdt-stack" not in content
    assert "No stack trace: ENABLE_STACKTRACES is off." in content


@pytest.mark.parametrize(
    ("count", "subtitle"), [(3, "3 sends"), (1, "1 send"), (0, "0 sends")]
)
def test_nav_subtitle_counts_sends(client: Client, count: int, subtitle: str) -> None:
    page = client.get(f"/sync/?n={count}").content.decode()

    assert nav_subtitle(page, SEARCH) == subtitle
    request_id = re.search(r'data-request-id="([^"]+)"', page)
    assert request_id
    assert stored_panel(request_id.group(1), SEARCH).nav_subtitle == subtitle


def test_dropped_sends_are_counted_and_shown(client: Client, settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"MAX_EVENTS": 2}
    page = client.get("/sync/?n=5&tag=cap").content.decode()
    request_id = re.search(r'data-request-id="([^"]+)"', page)
    assert request_id

    content = render_panel(client, request_id.group(1), SEARCH)

    rows = send_rows(content, SEARCH)
    assert [row.cells[2].text for row in rows] == ["cap-0", "cap-1"]
    assert "3 more sends were not recorded" in content
    assert 'DJDT_SIGNALPANELS["MAX_EVENTS"]' in content
    assert nav_subtitle(page, SEARCH) == "5 sends"
    assert get_store().panel(request_id.group(1), SEARCH)["dropped"] == 3


def test_one_dropped_send_reads_in_the_singular(client: Client, settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"MAX_EVENTS": 2}
    request_id = get_request_id(client, "/sync/?n=3")

    content = render_panel(client, request_id, SEARCH)

    assert "1 more send was not recorded" in content


def test_no_sends(client: Client) -> None:
    request_id = get_request_id(client, "/sync/?n=0")

    content = render_panel(client, request_id, SEARCH)

    assert "No sends in this request." in content
    assert send_rows(content, SEARCH) == []
    # From the store, DjDT counts a panel enabled only if it stored something.
    panel = stored_panel(request_id, SEARCH)
    assert panel.enabled
    assert panel.nav_subtitle == "0 sends"


def test_bad_input_renders_masked_and_escaped(client: Client) -> None:
    request_id = get_request_id(client, "/bad/")

    content = render_panel(client, request_id, SEARCH)

    (row,) = send_rows(content, SEARCH)
    query, hits, took = (cell.text for cell in row.cells[2:])
    assert "BadRepr" in query
    assert hits == '["<cycle>"]'
    assert took == "nan"
    details = without_stacks(content)
    assert MASK in details
    assert "hunter2" not in details
    assert "sk-123" not in details
    # The 100,000-character string is cut.
    assert "x" * 1001 not in details
    assert "99000 more characters" in details
