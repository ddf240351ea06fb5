"""FeatureFlagsPanel: per-flag counts and results, flags that changed mid-request."""

from __future__ import annotations

from django.test import Client

from tests.pages import (
    Row,
    detail_rows,
    get_request_id,
    render_panel,
    send_rows,
    stored_panel,
    table_rows,
)

PANEL = "FeatureFlagsPanel"
WARNING = "djDebugRowWarning"


def flags_table(html: str) -> list[Row]:
    """Rows of the per-flag summary table (the first table), without its header row."""
    rows = table_rows(html)
    header = next(index for index, row in enumerate(rows) if row.headers)
    assert rows[header].headers == [
        "Flag",
        "Evaluations",
        "Results",
        "Changed in this request",
    ]
    summary = []
    for row in rows[header + 1 :]:
        if row.headers:
            break
        summary.append(row)
    return summary


def sends_headers(html: str) -> list[str]:
    return [row for row in table_rows(html) if row.headers][-1].headers


def texts(row: Row) -> list[str]:
    return [cell.text.strip() for cell in row.cells]


def test_one_flag_that_changed(client: Client) -> None:
    # sync_view evaluates "t-flag" three times: True, False, True.
    request_id = get_request_id(client, "/sync/?n=3&tag=t")

    content = render_panel(client, request_id, PANEL)

    (flag,) = flags_table(content)
    assert texts(flag) == ["t-flag", "3", "True, False", "Yes"]
    assert WARNING in flag.classes
    sends = send_rows(content, PANEL)
    assert [texts(row)[2:] for row in sends] == [
        ["t-flag", "True"],
        ["t-flag", "False"],
        ["t-flag", "True"],
    ]
    assert all(WARNING in row.classes for row in sends)
    assert all(WARNING in row.classes for row in detail_rows(content))
    assert (
        stored_panel(request_id, PANEL).nav_subtitle
        == "3 evaluations of 1 flag, 1 changed"
    )


def test_changed_and_unchanged_flags(client: Client) -> None:
    request_id = get_request_id(client, "/flags/")

    content = render_panel(client, request_id, PANEL)

    checkout, dark_mode = flags_table(content)
    assert texts(checkout) == ["new-checkout", "2", "True", "No"]
    assert WARNING not in checkout.classes
    assert texts(dark_mode) == ["dark-mode", "2", "blue, green", "Yes"]
    assert WARNING in dark_mode.classes
    # Only dark-mode's sends (the 2nd and 4th) are highlighted, with their details.
    highlighted = [WARNING in row.classes for row in send_rows(content, PANEL)]
    assert highlighted == [False, True, False, True]
    assert [WARNING in row.classes for row in detail_rows(content)] == highlighted
    assert (
        stored_panel(request_id, PANEL).nav_subtitle
        == "4 evaluations of 2 flags, 1 changed"
    )


def test_optional_columns_only_when_sent(client: Client) -> None:
    request_id = get_request_id(client, "/flags/")

    content = render_panel(client, request_id, PANEL)

    # Some sends passed variant and reason; none passed provider.
    assert sends_headers(content) == ["Time", "Flag", "Result", "Variant", "Reason"]
    assert [texts(row)[2:] for row in send_rows(content, PANEL)] == [
        ["new-checkout", "True", "—", "targeting_match"],
        ["dark-mode", "blue", "blue", "—"],
        ["new-checkout", "True", "—", "targeting_match"],
        ["dark-mode", "green", "green", "split"],
    ]
    assert send_rows(content, PANEL)[0].cells[2].tags == ["code"]


def test_no_optional_columns_when_none_sent(client: Client) -> None:
    request_id = get_request_id(client, "/sync/?n=2")

    content = render_panel(client, request_id, PANEL)

    assert sends_headers(content) == ["Time", "Flag", "Result"]


def test_a_single_evaluation(client: Client) -> None:
    request_id = get_request_id(client, "/sync/?n=1&tag=solo")

    content = render_panel(client, request_id, PANEL)

    (flag,) = flags_table(content)
    assert texts(flag) == ["solo-flag", "1", "True", "No"]
    assert WARNING not in flag.classes
    assert all(WARNING not in row.classes for row in send_rows(content, PANEL))
    assert stored_panel(request_id, PANEL).nav_subtitle == "1 evaluation of 1 flag"


def test_no_evaluations(client: Client) -> None:
    request_id = get_request_id(client, "/sync/?n=0")

    content = render_panel(client, request_id, PANEL)

    assert "No sends in this request." in content
    assert "<h4>" not in content  # no summary table
    panel = stored_panel(request_id, PANEL)
    assert panel.enabled
    assert panel.nav_subtitle == "0 evaluations"


def test_subtitle_is_in_the_page(client: Client) -> None:
    page = client.get("/flags/").content.decode()

    assert "<small>4 evaluations of 2 flags, 1 changed</small>" in page
