"""Reading the toolbar's pages in tests: request ids, rendered panels, table rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from debug_toolbar.panels import Panel
from debug_toolbar.toolbar import DebugToolbar
from django.test import Client

REQUEST_ID = re.compile(r'data-request-id="([^"]+)"')


def request_id(html: str) -> str:
    match = REQUEST_ID.search(html)
    assert match, "the toolbar is not in the response"
    return match.group(1)


def get_request_id(client: Client, url: str) -> str:
    """Request ``url`` and return the toolbar's id for that request."""
    response = client.get(url)
    assert response.status_code == 200
    return request_id(response.content.decode())


def render_panel(client: Client, request_id: str, panel_id: str) -> str:
    """The panel's content as DjDT's AJAX view renders it from the store."""
    response = client.get(
        "/__debug__/render_panel/", {"request_id": request_id, "panel_id": panel_id}
    )
    assert response.status_code == 200
    content = response.json()["content"]
    assert isinstance(content, str)
    assert "isn't available anymore" not in content
    return content


def stored_panel(request_id: str, panel_id: str) -> Panel:
    """The panel as the History panel and ``render_panel`` load it from the store."""
    toolbar = DebugToolbar.fetch(request_id, panel_id)
    assert toolbar is not None, "the request is not in the store"
    panel: Panel = toolbar.get_panel_by_id(panel_id)
    return panel


@dataclass
class Cell:
    text: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class Row:
    attrs: dict[str, str]
    cells: list[Cell] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()


class _RowParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[Row] = []
        self._cell: Cell | None = None
        self._header: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append(Row({name: value or "" for name, value in attrs}))
        elif tag == "td" and self.rows:
            self._cell = Cell()
            self.rows[-1].cells.append(self._cell)
        elif tag == "th" and self.rows:
            self._header = []
        elif self._cell is not None:
            self._cell.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        elif tag == "th" and self._header is not None:
            self.rows[-1].headers.append("".join(self._header).strip())
            self._header = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data
        if self._header is not None:
            self._header.append(data)


def table_rows(html: str) -> list[Row]:
    """Every ``<tr>`` of ``html`` with its attributes, cells and headers, in order."""
    parser = _RowParser()
    parser.feed(html)
    parser.close()
    return parser.rows


def send_rows(html: str, panel_id: str) -> list[Row]:
    """The main row of each send (the one with the toggle and the time)."""
    return [
        row
        for row in table_rows(html)
        if row.attrs.get("id", "").startswith(f"{panel_id}Send_")
    ]


def detail_rows(html: str) -> list[Row]:
    """The details row that follows each send row."""
    return [
        row
        for row in table_rows(html)
        if any(name.startswith("djToggleDetails_") for name in row.classes)
    ]
