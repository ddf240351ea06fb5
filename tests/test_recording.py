"""Unit tests of djdt_signalpanels.recording: the request-scoped recorder."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django.dispatch
import pytest
from asgiref.sync import sync_to_async
from debug_toolbar.store import get_store
from django.dispatch import Signal
from django.test import Client, override_settings

import djdt_signalpanels
from djdt_signalpanels import bind_request_context, recording, stacks
from djdt_signalpanels.signals import feature_flag_evaluated
from tests import views
from tests.pages import render_panel, request_id
from tests.signals import search_done

TIMEOUT = 30.0
PACKAGE_DIR = os.path.dirname(djdt_signalpanels.__file__) + os.sep
DISPATCH_DIR = os.path.dirname(django.dispatch.__file__) + os.sep


@pytest.fixture
def signal() -> Iterator[Signal]:
    """A signal no other code knows, so its receivers are ours to inspect."""
    signal = Signal()
    yield signal
    # A failed test must not leave the shared receiver counted as connected.
    assert not recording.is_connected(signal), "a recording was left open"


def recorded(record: recording.Recording, signal: Signal, key: str = "i") -> list[Any]:
    return [event.kwargs[key] for event in record.events(signal)]


# Connecting only while something records


def test_receiver_is_connected_only_while_a_recording_runs(signal: Signal) -> None:
    assert not recording.is_connected(signal)
    assert not signal.has_listeners()

    record = recording.start(signal)
    assert recording.is_connected(signal)
    assert signal.has_listeners()

    recording.stop(record, signal)
    assert not recording.is_connected(signal)
    assert not signal.has_listeners()


def test_receiver_stays_connected_until_the_last_request_stops(signal: Signal) -> None:
    first, second = contextvars.copy_context(), contextvars.copy_context()
    first_record = first.run(recording.start, signal)
    second_record = second.run(recording.start, signal)
    assert first_record is not second_record

    first.run(recording.stop, first_record, signal)
    assert recording.is_connected(signal)
    second.run(signal.send, sender=None, i=1)
    assert recorded(second_record, signal) == [1]

    second.run(recording.stop, second_record, signal)
    assert not recording.is_connected(signal)


def test_receiver_is_connected_during_a_real_request_only(client: Client) -> None:
    states: list[bool] = []

    def probe(sender: Any, **kwargs: Any) -> None:
        states.append(recording.is_connected(search_done))

    assert not recording.is_connected(search_done)
    search_done.connect(probe, weak=False, dispatch_uid="test_recording.probe")
    try:
        response = client.get("/sync/?tag=live&n=3")
    finally:
        search_done.disconnect(dispatch_uid="test_recording.probe")
    assert response.status_code == 200
    assert states == [True, True, True]
    assert not recording.is_connected(search_done)


# What is recorded, and where


def test_send_outside_a_recording_is_dropped(signal: Signal) -> None:
    request = contextvars.copy_context()
    record = request.run(recording.start, signal)
    try:
        signal.send(sender=None, i="outside")  # this context records nothing
        request.run(signal.send, sender=None, i="inside")
    finally:
        request.run(recording.stop, record, signal)
    assert recorded(record, signal) == ["inside"]
    assert recording.current() is None


def test_send_into_a_closed_recording_is_dropped(signal: Signal) -> None:
    record = recording.start(signal)
    late = contextvars.copy_context()  # what a thread the view started holds
    recording.stop(record, signal)
    assert not record.is_open

    other = recording.start(signal)  # another request keeps the receiver connected
    try:
        late.run(signal.send, sender=None, i="late")
        signal.send(sender=None, i="other")
    finally:
        recording.stop(other, signal)
    assert recorded(record, signal) == []
    assert recorded(other, signal) == ["other"]
    assert other is not record


def test_two_panels_of_one_request_share_one_recording(signal: Signal) -> None:
    second_signal = Signal()
    record = recording.start(signal)
    assert recording.start(second_signal) is record
    signal.send(sender=None, i=1)
    second_signal.send(sender=None, i=2)

    recording.stop(record, signal)
    assert record.is_open  # the other panel still records
    second_signal.send(sender=None, i=3)
    signal.send(sender=None, i="after its panel stopped")
    recording.stop(record, second_signal)

    assert not record.is_open
    assert recorded(record, signal) == [1]
    assert recorded(record, second_signal) == [2, 3]
    assert recording.current() is None
    assert not recording.is_connected(second_signal)


def test_two_panels_share_one_recording_in_a_real_request(client: Client) -> None:
    seen: list[tuple[str, recording.Recording | None]] = []

    def probe(sender: Any, signal: Signal, **kwargs: Any) -> None:
        name = "search" if signal is search_done else "flag"
        seen.append((name, recording.current()))

    for watched in (search_done, feature_flag_evaluated):
        watched.connect(probe, weak=False, dispatch_uid="test_recording.shared")
    try:
        client.get("/sync/?tag=one&n=2")
        client.get("/sync/?tag=two&n=2")
    finally:
        for watched in (search_done, feature_flag_evaluated):
            watched.disconnect(dispatch_uid="test_recording.shared")

    assert [name for name, _ in seen] == ["search", "flag"] * 4
    first = {id(record) for _, record in seen[:4]}
    second = {id(record) for _, record in seen[4:]}
    assert None not in {record for _, record in seen}
    assert len(first) == 1 and len(second) == 1  # one recording per request
    assert first != second


# The per-request cap


def test_max_events_keeps_the_first_sends_and_counts_the_rest(signal: Signal) -> None:
    with override_settings(DJDT_SIGNALPANELS={"MAX_EVENTS": 3}):
        record = recording.start(signal)
        try:
            for index in range(5):
                signal.send(sender=None, i=index)
        finally:
            recording.stop(record, signal)
    assert recorded(record, signal) == [0, 1, 2]
    assert record.dropped(signal) == 2


def test_max_events_holds_under_concurrent_senders(signal: Signal) -> None:
    senders, sends_each, cap = 8, 40, 50
    start = threading.Barrier(senders, timeout=TIMEOUT)

    def send_many(worker: int) -> None:
        start.wait()
        for index in range(sends_each):
            signal.send(sender=None, i=(worker, index))

    with override_settings(DJDT_SIGNALPANELS={"MAX_EVENTS": cap}):
        record = recording.start(signal)
        try:
            with ThreadPoolExecutor(max_workers=senders) as pool:
                for future in [
                    pool.submit(bind_request_context(send_many), worker)
                    for worker in range(senders)
                ]:
                    future.result(TIMEOUT)
        finally:
            recording.stop(record, signal)
    assert len(record.events(signal)) == cap
    assert record.dropped(signal) == senders * sends_each - cap


def test_max_events_in_a_real_request(client: Client) -> None:
    with override_settings(DJDT_SIGNALPANELS={"MAX_EVENTS": 3}):
        response = client.get("/sync/?tag=cap&n=5")
    stats = get_store().panel(request_id(response.content.decode()), "SearchPanel")
    assert [event["kwargs"]["query"] for event in stats["events"]] == [
        "cap-0",
        "cap-1",
        "cap-2",
    ]
    assert stats["dropped"] == 2


# Start and stop in different contexts (asgiref issue 267)


def test_stop_in_another_context_than_start_does_not_raise(signal: Signal) -> None:
    started_in = contextvars.copy_context()
    record = started_in.run(recording.start, signal)
    contextvars.copy_context().run(recording.stop, record, signal)

    assert not record.is_open
    assert not recording.is_connected(signal)
    # The context that started it still holds the closed recording: it
    # neither records nor is reused by the next request that starts there.
    assert started_in.run(recording.current) is None
    started_in.run(signal.send, sender=None, i="late")
    assert recorded(record, signal) == []
    again = started_in.run(recording.start, signal)
    assert again is not record
    started_in.run(recording.stop, again, signal)


def test_start_and_stop_in_separate_sync_to_async_calls(signal: Signal) -> None:
    async def request() -> recording.Recording:
        # What DjDT's ASGI middleware does when a sync panel method runs
        # through sync_to_async: each call runs in its own copied context.
        record = await sync_to_async(recording.start)(signal)
        await sync_to_async(signal.send)(sender=None, i=1)
        await signal.asend(sender=None, i=2)
        await sync_to_async(recording.stop)(record, signal)
        assert recording.current() is None
        return record

    record = asyncio.run(request())
    assert recorded(record, signal) == [1, 2]
    assert not record.is_open
    assert not recording.is_connected(signal)


# bind_request_context


def test_one_bound_function_runs_on_many_workers_at_once(signal: Signal) -> None:
    workers = 8
    # Every worker waits inside the bound function until all are in it: one
    # shared Context entered twice at once would raise RuntimeError.
    together = threading.Barrier(workers, timeout=TIMEOUT)

    def send(index: int) -> None:
        together.wait()
        signal.send(sender=None, i=index)

    record = recording.start(signal)
    try:
        bound = bind_request_context(send)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(bound, range(workers), timeout=TIMEOUT))
            # The same function unbound: the workers' sends are dropped.
            together.reset()
            list(pool.map(send, range(100, 100 + workers), timeout=TIMEOUT))
    finally:
        recording.stop(record, signal)
    assert sorted(recorded(record, signal)) == list(range(workers))


def test_bound_function_keeps_its_name_and_return_value() -> None:
    def lookup(value: int) -> int:
        return value * 2

    bound = bind_request_context(lookup)
    assert bound.__name__ == "lookup"
    assert bound(21) == 42


# Stacks


def test_stack_is_none_when_stacktraces_are_disabled(
    signal: Signal, toolbar_config: Callable[..., None]
) -> None:
    toolbar_config(ENABLE_STACKTRACES=False)
    record = recording.start(signal)
    try:
        signal.send(sender=None, i=1)
    finally:
        recording.stop(record, signal)
    assert [event.stack for event in record.events(signal)] == [None]


def test_stored_stack_is_none_and_said_so_when_stacktraces_are_disabled(
    client: Client, toolbar_config: Callable[..., None]
) -> None:
    toolbar_config(ENABLE_STACKTRACES=False)
    response = client.get("/sync/?tag=nostack&n=2")
    stored_id = request_id(response.content.decode())
    stats = get_store().panel(stored_id, "SearchPanel")
    assert [event["stack"] for event in stats["events"]] == [None, None]
    content = render_panel(client, stored_id, "SearchPanel")
    assert "ENABLE_STACKTRACES is off" in content


def test_stack_ends_at_the_line_that_sent(signal: Signal) -> None:
    record = recording.start(signal)
    try:
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        signal.send(sender=None, i=1)
    finally:
        recording.stop(record, signal)

    [event] = record.events(signal)
    assert event.stack is not None
    frames = stacks.render(event.stack)
    filename, lineno, function, source, frame_locals = frames[-1]
    assert (filename, lineno, function) == (
        __file__,
        line,
        "test_stack_ends_at_the_line_that_sent",
    )
    assert source == "signal.send(sender=None, i=1)"
    assert frame_locals is None
    # The recorder and the dispatcher are never shown.
    for frame in frames:
        assert not str(frame[0]).startswith((PACKAGE_DIR, DISPATCH_DIR)), frame
    # But they were captured: the hiding happens when rendering.
    assert any(code.co_filename.startswith(DISPATCH_DIR) for code, *_ in event.stack)


def test_asend_stack_ends_at_the_line_that_awaited_asend(signal: Signal) -> None:
    lines: list[int] = []

    async def view() -> None:
        lines.append(inspect.currentframe().f_lineno + 1)  # type: ignore[union-attr]
        await signal.asend(sender=None, i=1)

    record = recording.start(signal)
    try:
        asyncio.run(view())
    finally:
        recording.stop(record, signal)

    [event] = record.events(signal)
    assert event.stack is not None
    frames = stacks.render(event.stack)
    # Signal.asend calls sync receivers in a sync_to_async worker thread;
    # the stack must still lead to the awaiting line, not to that worker.
    assert (frames[-1][0], frames[-1][1], frames[-1][2]) == (__file__, lines[0], "view")


def test_hide_in_stacktraces_is_respected(toolbar_config: Callable[..., None]) -> None:
    record = recording.start(search_done)
    try:
        views.search("hidden", 0)  # tests.views sends for us
    finally:
        recording.stop(record, search_done)
    [event] = record.events(search_done)
    assert event.stack is not None

    shown = stacks.render(event.stack)
    assert shown[-1][2] == "search"
    assert shown[-1][0] == views.__file__
    assert shown[-2][2] == "test_hide_in_stacktraces_is_respected"

    toolbar_config(HIDE_IN_STACKTRACES=("tests.views",))
    hidden = stacks.render(event.stack)
    assert hidden[-1][2] == "test_hide_in_stacktraces_is_respected"
    assert all(frame[0] != views.__file__ for frame in hidden)
