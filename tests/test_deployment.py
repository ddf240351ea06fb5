"""Shared stores on real multi-process servers: every panel, from every worker.

The demo runs under gunicorn (4 gthread processes) and uvicorn (4 worker
processes) on PostgreSQL (``tests/deployment.py``). Many concurrent requests
mix its pages, each with a token of its own; then every signal panel of every
request is fetched through ``render_panel``, landing on whichever worker
answers. With a shared store (database or Redis) each panel shows exactly its
own request's events. The control, DjDT's MemoryStore, loses exactly the panels
fetched from another worker than the page's, which shows that the check sees
the failure these stores exist to fix.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from tests.deployment import (
    PAGES,
    SERVED_BY,
    SERVERS,
    Site,
    Verdict,
    check_request,
    new_token,
    running_site,
)
from tests.services import PostgresServer, RedisServer

pytestmark = pytest.mark.deployment

WORKERS = 4
CLIENTS = 16  # client threads, against 4 workers of 8 threads (gunicorn)
REQUESTS = 200  # 40 of each page
CONTROL_REQUESTS = 40
# With 4 workers answering at random, 3 fetches in 4 land on another worker
# than the page's; far fewer would mean the test proves little.
CROSS_WORKER_SHARE = 0.4


@dataclass(frozen=True)
class Visit:
    """One page request of the load."""

    page: str
    token: str
    status: int | None = None
    request_id: str | None = None
    served_by: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    visits: list[Visit]
    verdicts: list[Verdict]

    @property
    def fetches(self) -> list[tuple[Visit, str, str]]:
        """(visit, panel id, process that answered the panel's fetch)."""
        return [
            (visit, panel_id, pid)
            for visit, verdict in zip(self.visits, self.verdicts, strict=True)
            for panel_id, pid in verdict.fetched_by.items()
        ]

    @property
    def cross_worker(self) -> int:
        return sum(pid != visit.served_by for visit, _, pid in self.fetches)

    def summary(self) -> str:
        fetches = len(self.fetches)
        return (
            f"{len(self.visits)} requests on "
            f"{len({visit.served_by for visit in self.visits})} workers, "
            f"{fetches} panel fetches, {self.cross_worker} "
            f"({self.cross_worker / max(fetches, 1):.0%}) from another worker; "
            f"foreign {sum(v.foreign for v in self.verdicts)}, "
            f"missing {sum(v.missing for v in self.verdicts)}, "
            f"unavailable panels "
            f"{sum(len(v.unavailable_panels) for v in self.verdicts)}, "
            f"errors {sum(len(v.errors) for v in self.verdicts)}"
        )


def visit(site: Site, page: str) -> Visit:
    token = new_token()
    try:
        response = site.get(page.format(token=token))
    except (OSError, http.client.HTTPException) as error:
        return Visit(page, token, error=repr(error))
    try:
        request_id = response.request_id
    except AssertionError as error:  # no toolbar in the page
        return Visit(page, token, response.status, error=str(error)[:300])
    return Visit(
        page, token, response.status, request_id, response.headers.get(SERVED_BY)
    )


def load_and_check(site: Site, requests: int) -> Outcome:
    """``requests`` pages from concurrent clients, then every signal panel of each."""
    pages = [PAGES[n % len(PAGES)] for n in range(requests)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        visits = list(pool.map(partial(visit, site), pages))
    failed = [item for item in visits if item.status != 200 or item.error]
    assert not failed, f"{len(failed)} pages failed, such as {failed[:3]}"

    def check(item: Visit) -> Verdict:
        assert item.request_id is not None
        return check_request(site, item.page, item.token, item.request_id)

    with ThreadPoolExecutor(CLIENTS) as pool:
        verdicts = list(pool.map(check, visits))
    return Outcome(visits, verdicts)


def check_mixed_up(site: Site, visits: list[Visit]) -> list[Verdict]:
    """For each page, the check of one of its requests on another page's request."""
    first = {page: next(v for v in visits if v.page == page) for page in PAGES}
    verdicts = []
    for page, other in zip(PAGES, PAGES[1:] + PAGES[:1], strict=True):
        request_id = first[other].request_id
        assert request_id is not None
        verdicts.append(check_request(site, page, first[page].token, request_id))
    return verdicts


def examples(outcome: Outcome, wrong: Callable[[Verdict], Any]) -> list[str]:
    """A few requests whose verdict is ``wrong``, for the failure message."""
    found = [
        f"{item.page} {item.token} (page by {item.served_by}): {verdict}"
        for item, verdict in zip(outcome.visits, outcome.verdicts, strict=True)
        if wrong(verdict)
    ]
    return found[:3]


@pytest.mark.parametrize("store", ["database", "redis"])
@pytest.mark.parametrize("server", SERVERS)
def test_shared_store_shows_each_request_its_own_events(
    server: str, store: str, postgres: PostgresServer, redis_server: RedisServer
) -> None:
    with running_site(
        server, store, postgres=postgres, redis=redis_server, workers=WORKERS
    ) as site:
        outcome = load_and_check(site, REQUESTS)
        mixed_up = check_mixed_up(site, outcome.visits)
    print(f"{server}/{store}: {outcome.summary()}")  # shown with -s or -rP
    # The check sees rows in the wrong request: each page's check, given the
    # request of the next page, counts that request's rows foreign and its
    # own missing.
    assert all(v.foreign and v.missing for v in mixed_up), mixed_up

    verdicts = outcome.verdicts
    assert not any(v.errors for v in verdicts), examples(outcome, lambda v: v.errors)
    assert not any(v.unavailable for v in verdicts), examples(
        outcome, lambda v: v.unavailable
    )
    assert sum(v.foreign for v in verdicts) == 0, examples(outcome, lambda v: v.foreign)
    assert sum(v.missing for v in verdicts) == 0, examples(outcome, lambda v: v.missing)
    # Proof that it was a multi-process test: every worker served pages, and
    # most panels were read from another worker than the page's.
    assert len({item.served_by for item in outcome.visits}) == WORKERS
    assert outcome.cross_worker > CROSS_WORKER_SHARE * len(outcome.fetches), (
        outcome.summary()
    )


def test_memory_store_loses_the_panels_of_other_workers(
    postgres: PostgresServer,
) -> None:
    with running_site("gunicorn", "memory", postgres=postgres, workers=WORKERS) as site:
        outcome = load_and_check(site, CONTROL_REQUESTS)
    print(f"gunicorn/memory: {outcome.summary()}")

    # Each worker keeps its own requests: a panel is unavailable exactly when
    # another worker answered its fetch; the others are right.
    for item, verdict in zip(outcome.visits, outcome.verdicts, strict=True):
        for panel_id, pid in verdict.fetched_by.items():
            lost = panel_id in verdict.unavailable_panels
            assert lost == (pid != item.served_by), (item, verdict)
    assert outcome.cross_worker > 0
    assert sum(v.foreign + v.missing + len(v.errors) for v in outcome.verdicts) == 0
