"""What the openai and anthropic integrations share.

A patched method first asks :func:`~djdt_signalpanels.recording.current`: while
no request records, it calls straight through. Otherwise it times the call in a
:class:`Call` and sends :data:`~djdt_signalpanels.signals.llm_call` once, when
the answer is in: when the method returns, or for a stream when it ends, is
closed, is left early or fails. Streams keep their SDK class: the instance's
class becomes a subclass that watches the chunks go by.

Every send happens inside a method your code called (the patched method, the
stream's iteration or close, the stream helper's ``with`` block), so the stack of
the send ends at your line; frames of this package are hidden from it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Protocol, TypeGuard

from .. import conf
from ..recording import current
from ..signals import llm_call

Method = Callable[..., Any]


class Reader(Protocol):
    """Reads one kind of API call: its prompt, its answer, its stream's chunks."""

    def prompt(self, kwargs: Mapping[str, Any]) -> str | None: ...

    def result(self, call: Call, result: Any) -> None: ...

    def item(self, call: Call, item: Any) -> None: ...


@dataclass(frozen=True)
class Operation:
    """One instrumented API operation, such as openai's chat completions."""

    provider: str
    name: str  # gen_ai.operation.name
    reader: Reader
    streams: bool = True  # whether the API can stream (and so has a stream flag)

    def begin(self, resource: Any, kwargs: Mapping[str, Any]) -> Call:
        stream = kwargs.get("stream") is True if self.streams else None
        return Call(self, type(resource), kwargs, stream=stream)


def shorten(text: str, length: int) -> str:
    return text if len(text) <= length else f"{text[:length]}…"


def is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class Call:
    """One API call made while a request records: what is known of it so far."""

    def __init__(
        self,
        operation: Operation,
        sender: type,
        kwargs: Mapping[str, Any],
        *,
        stream: bool | None,
    ) -> None:
        self.sender = sender
        self.reader = operation.reader
        self.fields: dict[str, Any] = {
            "provider": operation.provider,
            "operation": operation.name,
        }
        model = kwargs.get("model")
        if isinstance(model, str):
            self.fields["request_model"] = model
        if stream is not None:
            self.fields["stream"] = stream
        self.preview_length = conf.llm_preview_length() if conf.llm_previews() else 0
        self._output: list[str] | None = None
        self._output_size = 0
        if self.preview_length:
            self._output = []
            try:
                prompt = self.reader.prompt(kwargs)
            except Exception:  # a prompt shape this version does not know
                prompt = None
            if prompt:
                self.fields["input_preview"] = shorten(prompt, self.preview_length)
        self.finish_reasons: dict[int, str] = {}
        self.deferred = False  # a stream helper's block sends it when it exits
        self._first_chunk: float | None = None
        self._ended = False
        self._sent = False
        self._lock = threading.Lock()
        self.started = perf_counter()

    # What readers report

    def set(self, name: str, value: Any) -> None:
        if isinstance(value, str) and value:
            self.fields[name] = value

    def count(self, name: str, value: Any) -> None:
        if is_count(value):
            self.fields[name] = value

    def finish_reason(self, reason: Any, index: Any = 0) -> None:
        if isinstance(reason, str) and reason:
            self.finish_reasons[index if is_count(index) else 0] = reason

    def text(self, text: Any) -> None:
        """Part of the answer; kept, up to the preview length, when previews are on."""
        if self._output is None or not isinstance(text, str):
            return
        if self._output_size <= self.preview_length:
            self._output.append(text)
            self._output_size += len(text)

    # What the patched methods and streams report

    def result(self, result: Any) -> None:
        try:
            self.reader.result(self, result)
        except Exception:  # an answer shape this version does not know: record less
            pass

    def item(self, item: Any) -> None:
        if self._first_chunk is None:
            self._first_chunk = perf_counter()
        try:
            self.reader.item(self, item)
        except Exception:
            pass

    def end(self, error: BaseException | None = None) -> None:
        """The call is over (the first time only): take its duration."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self.fields["duration"] = (perf_counter() - self.started) * 1000
            if self._first_chunk is not None:
                first = self._first_chunk - self.started
                self.fields["time_to_first_chunk"] = first * 1000
            if error is not None:
                self.fields["error_type"] = type(error).__qualname__

    def stream_ended(self, error: BaseException | None = None) -> None:
        self.end(error)
        if not self.deferred:
            self.send()

    def send(self) -> None:
        """Send ``llm_call`` (the first time only)."""
        self.end()
        with self._lock:
            if self._sent:
                return
            self._sent = True
        kwargs = dict(self.fields)
        if self.finish_reasons:
            kwargs["finish_reasons"] = [
                reason for _, reason in sorted(self.finish_reasons.items())
            ]
        if self._output:
            kwargs["output_preview"] = shorten(
                "".join(self._output), self.preview_length
            )
        # Robust: a failing receiver must not fail the API call that succeeded.
        llm_call.send_robust(sender=self.sender, **kwargs)


# Streams


class _EndsOnError:
    """Ends ``call``'s stream when its block raises: cleanly when the stream is
    over or the loop was left early, with the error otherwise."""

    CLEAN = (StopIteration, StopAsyncIteration, GeneratorExit)

    def __init__(self, call: Call) -> None:
        self.call = call

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> None:
        if error is not None:
            self.call.stream_ended(None if isinstance(error, self.CLEAN) else error)


def _sync_methods(base: type) -> dict[str, Any]:
    """What a recorded stream of SDK class ``base`` does in its place."""
    iterate, advance, close_base = base.__iter__, base.__next__, base.close  # type: ignore[attr-defined]

    def __iter__(self: Any) -> Iterator[Any]:
        call: Call = self._djdt_signalpanels_call
        with _EndsOnError(call):
            for item in iterate(self):
                call.item(item)
                yield item
        call.stream_ended()

    def __next__(self: Any) -> Any:
        call: Call = self._djdt_signalpanels_call
        with _EndsOnError(call):
            item = advance(self)
        call.item(item)
        return item

    def close(self: Any) -> None:
        try:
            close_base(self)
        finally:
            self._djdt_signalpanels_call.stream_ended()

    return {"__iter__": __iter__, "__next__": __next__, "close": close}


def _async_methods(base: type) -> dict[str, Any]:
    """The async twin of :func:`_sync_methods`."""
    iterate, advance, close_base = base.__aiter__, base.__anext__, base.close  # type: ignore[attr-defined]

    async def __aiter__(self: Any) -> AsyncIterator[Any]:
        call: Call = self._djdt_signalpanels_call
        with _EndsOnError(call):
            async for item in iterate(self):
                call.item(item)
                yield item
        call.stream_ended()

    async def __anext__(self: Any) -> Any:
        call: Call = self._djdt_signalpanels_call
        with _EndsOnError(call):
            item = await advance(self)
        call.item(item)
        return item

    async def close(self: Any) -> None:
        try:
            await close_base(self)
        finally:
            self._djdt_signalpanels_call.stream_ended()

    return {"__aiter__": __aiter__, "__anext__": __anext__, "close": close}


_recorded_classes: dict[tuple[type, str], type] = {}
_classes_lock = threading.Lock()


def _recorded_class(
    cls: type, role: str, methods: Callable[[type], dict[str, Any]]
) -> type:
    """A direct subclass of ``cls`` (same name, same layout) with ``methods(cls)``."""
    with _classes_lock:
        recorded = _recorded_classes.get((cls, role))
        if recorded is None:
            recorded = _recorded_classes[cls, role] = type(
                cls.__name__,
                (cls,),
                {
                    **methods(cls),
                    "_djdt_signalpanels_recorded": True,
                    "__module__": cls.__module__,
                    "__qualname__": cls.__qualname__,
                },
            )
        return recorded


def is_recorded(instance: Any) -> bool:
    return getattr(type(instance), "_djdt_signalpanels_recorded", False) is True


def record_stream(stream: Any, call: Call) -> Any:
    """Make ``stream`` report to ``call``.

    Its class becomes a subclass of its SDK class, so ``isinstance`` checks and
    every attribute keep working.
    """
    cls = type(stream)
    is_async = hasattr(cls, "__aiter__")
    methods = _async_methods if is_async else _sync_methods
    recorded = _recorded_class(cls, "stream", methods)
    stream._djdt_signalpanels_call = call
    stream.__class__ = recorded
    return stream


# Stream helpers (``with client.messages.stream(...) as stream:``)


class _Slot:
    """Where the API call made inside a stream helper's ``__enter__`` leaves its Call."""

    call: Call | None = None


_helper_slot: ContextVar[_Slot | None] = ContextVar(
    "djdt_signalpanels_llm_helper", default=None
)


def _claim(call: Call) -> None:
    """Inside a stream helper's ``__enter__``, let the helper send ``call`` on exit."""
    slot = _helper_slot.get()
    if slot is not None and slot.call is None:
        slot.call = call
        call.deferred = True


def _open_slot(manager: Any) -> tuple[_Slot, Token[_Slot | None]]:
    slot = _Slot()
    start = manager._djdt_signalpanels_start
    if start is not None:
        slot.call = start()
        slot.call.deferred = True
    return slot, _helper_slot.set(slot)


def _failed(slot: _Slot, error: BaseException) -> None:
    if slot.call is not None:
        slot.call.end(error)
        slot.call.send()


def _entered(manager: Any, slot: _Slot, helper: Any) -> Any:
    manager._djdt_signalpanels_call = slot.call
    if slot.call is not None:
        # The helper's stream object reads the SDK stream; record it here when
        # the request did not go through a patched method.
        raw = getattr(helper, "_raw_stream", None)
        if raw is not None and not is_recorded(raw):
            record_stream(raw, slot.call)
    return helper


def _exited(manager: Any) -> None:
    call: Call | None = getattr(manager, "_djdt_signalpanels_call", None)
    if call is not None:
        call.send()


def _manager_methods(base: type) -> dict[str, Any]:
    """What a recorded stream helper's context manager of class ``base`` does instead."""
    if hasattr(base, "__aenter__"):
        aenter, aexit = base.__aenter__, base.__aexit__  # type: ignore[attr-defined]

        async def __aenter__(self: Any) -> Any:
            slot, token = _open_slot(self)
            try:
                helper = await aenter(self)
            except BaseException as error:
                _failed(slot, error)
                raise
            finally:
                _helper_slot.reset(token)
            return _entered(self, slot, helper)

        async def __aexit__(self: Any, *exc_info: Any) -> Any:
            try:
                return await aexit(self, *exc_info)
            finally:
                _exited(self)

        return {"__aenter__": __aenter__, "__aexit__": __aexit__}

    enter, exit_ = base.__enter__, base.__exit__  # type: ignore[attr-defined]

    def __enter__(self: Any) -> Any:
        slot, token = _open_slot(self)
        try:
            helper = enter(self)
        except BaseException as error:
            _failed(slot, error)
            raise
        finally:
            _helper_slot.reset(token)
        return _entered(self, slot, helper)

    def __exit__(self: Any, *exc_info: Any) -> Any:
        try:
            return exit_(self, *exc_info)
        finally:
            _exited(self)

    return {"__enter__": __enter__, "__exit__": __exit__}


def record_manager(manager: Any, start: Callable[[], Call] | None) -> Any:
    """Make a stream helper's context manager send its call when its block exits.

    The helper's stream object reads the recorded SDK stream, but its
    ``close()`` may close the HTTP response behind that stream's back: the end
    of the block is what counts. ``start`` makes the Call for helpers whose
    request does not go through a patched method (anthropic's
    ``messages.stream``); otherwise the patched method called on entering does.
    """
    recorded = _recorded_class(type(manager), "manager", _manager_methods)
    manager._djdt_signalpanels_start = start
    manager._djdt_signalpanels_call = None
    manager.__class__ = recorded
    return manager


# Patched methods


def _finish(call: Call, result: Any, streams: tuple[type, ...]) -> Any:
    # issubclass: anthropic < 0.41's Stream metaclass answers isinstance() with False.
    if issubclass(type(result), streams):
        return record_stream(result, call)
    call.result(result)  # a whole answer (or a raw response: nothing to read)
    call.stream_ended()
    return result


def sync_method(
    original: Method, operation: Operation, streams: tuple[type, ...]
) -> Method:
    @functools.wraps(original)
    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        if current() is None:
            return original(self, *args, **kwargs)
        call = operation.begin(self, kwargs)
        _claim(call)
        try:
            result = original(self, *args, **kwargs)
        except BaseException as error:
            call.stream_ended(error)
            raise
        return _finish(call, result, streams)

    return patched


def async_method(
    original: Method, operation: Operation, streams: tuple[type, ...]
) -> Method:
    @functools.wraps(original)
    async def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        if current() is None:
            return await original(self, *args, **kwargs)
        call = operation.begin(self, kwargs)
        _claim(call)
        try:
            result = await original(self, *args, **kwargs)
        except BaseException as error:
            call.stream_ended(error)
            raise
        return _finish(call, result, streams)

    return patched


def helper_method(original: Method, operation: Operation | None) -> Method:
    """Patch a stream helper (``.stream(...)``), sync or async alike.

    With ``operation``, the helper's request goes around the patched methods,
    and the Call starts when its block is entered; without, the patched method
    that the helper calls on entering makes it.
    """

    @functools.wraps(original)
    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        if current() is None:
            return original(self, *args, **kwargs)
        manager = original(self, *args, **kwargs)
        start: Callable[[], Call] | None = None
        if operation is not None:
            start = functools.partial(operation.begin, self, {**kwargs, "stream": True})
        return record_manager(manager, start)

    return patched


class Patches:
    """The methods one integration replaced, to put the originals back.

    An integration module's ``uninstall``, ``is_installed`` and
    ``patched_methods`` are these methods of its instance.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._applied: list[tuple[type, str, Any]] = []

    def install(self, apply: Callable[[], bool]) -> bool:
        """Run ``apply`` (False when the SDK is not installed) unless it has been."""
        with self.lock:
            return bool(self._applied) or apply()

    def replace(self, owner: type, name: str, make: Callable[[Method], Method]) -> bool:
        """Replace ``owner.name`` by ``make(original)``; False when this version lacks it."""
        original = owner.__dict__.get(name)
        if not callable(original):
            return False
        setattr(owner, name, make(original))
        self._applied.append((owner, name, original))
        return True

    def creates(
        self,
        sync: type,
        async_: type,
        operation: Operation,
        streams: tuple[type, ...],
    ) -> None:
        """Replace ``create`` of a sync resource class and of its async twin."""
        self.replace(sync, "create", lambda f: sync_method(f, operation, streams))
        self.replace(async_, "create", lambda f: async_method(f, operation, streams))

    def helpers(self, operation: Operation | None, *owners: type) -> None:
        """Replace the ``stream`` helper of each of ``owners``."""
        for owner in owners:
            self.replace(owner, "stream", lambda f: helper_method(f, operation))

    def uninstall(self) -> None:
        """Put the original methods back (for tests and benchmarks)."""
        with self.lock:
            while self._applied:
                owner, name, original = self._applied.pop()
                setattr(owner, name, original)

    def is_installed(self) -> bool:
        with self.lock:
            return bool(self._applied)

    def patched_methods(self) -> list[str]:
        """The methods replaced, as dotted paths."""
        with self.lock:
            return [
                f"{owner.__module__}.{owner.__qualname__}.{name}"
                for owner, name, _ in self._applied
            ]


def field(value: Any, name: str) -> Any:
    """``value.name``, or ``value[name]``: SDK versions that do not model a part of
    the answer keep it as a plain dict."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def text_of(content: Any) -> str | None:
    """The text of a message's content: a string, or the text of its parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        texts = [
            text
            for part in content
            if isinstance(part, Mapping) and isinstance(text := part.get("text"), str)
        ]
        return " ".join(texts) if texts else None
    return None


def last_message_text(messages: Any) -> str | None:
    """The text of the last message of a list (never a one-shot iterable: the SDK reads it)."""
    if isinstance(messages, Sequence) and not isinstance(messages, str) and messages:
        last = messages[-1]
        if isinstance(last, Mapping):
            return text_of(last.get("content"))
    return None
