from djdt_signalpanels import Column, SignalPanel


class SearchPanel(SignalPanel):
    title = "Searches"
    signal = "tests.signals.search_done"
    columns = [Column("query", "Query"), "hits", Column("took", format="duration")]
