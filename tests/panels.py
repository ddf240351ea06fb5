from djdt_signalpanels import Column, SignalPanel


class SearchPanel(SignalPanel):
    title = "Searches"
    signal = "tests.signals.search_done"
    columns = [Column("query", "Query"), "hits", Column("took", format="duration")]


class FormatsPanel(SignalPanel):
    """One column of each format, two optional columns, all on ``formats_sent``."""

    title = "Formats"
    signal = "tests.signals.formats_sent"
    columns = [
        Column("name", format="code"),
        Column("payload", format="json"),
        Column("ok", format="bool"),
        Column("took", format="duration"),
        Column("count", format="number"),
        Column("note", optional=True),
        Column("never_sent", optional=True),
    ]
