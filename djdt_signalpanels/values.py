"""Turn arbitrary signal arguments into small, JSON-native data.

Every DjDT store JSON round-trips panel stats, and the panel renders from that
round-tripped data, so values are converted once, at send time, into plain
``None``/``bool``/``int``/``float``/``str``/``list``/``dict``. Conversion never
raises: whatever a sender passes, the request goes on.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import functools
import math
import re
import reprlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise

from . import conf

MASK = "********************"

JSON = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]

_CONTAINERS = (list, tuple, set, frozenset)

# Dict keys that DjDT's store decoder turns back into bytes or geometries.
STORE_MARKERS = frozenset({"__djdt_binary__", "__djdt_postgis__"})

# How repr() shows each byte inside b'...'.
_BYTE_TEXT = tuple(repr(bytes([byte]))[2:-1] for byte in range(256))


def _unique(name: str, taken: Mapping[str, Any]) -> str:
    """``name``, or ``name (2)``, ``name (3)``... if taken or a store marker."""
    candidate, number = name, 1
    while candidate in taken or candidate in STORE_MARKERS:
        number += 1
        candidate = f"{name} ({number})"
    return candidate


@functools.lru_cache(maxsize=4096)
def name_words(name: str) -> tuple[str, ...]:
    """``"X-Api-Key"``, ``"apiKey"`` and ``"api_key"`` all give ``("api", "key")``."""
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return tuple(word for word in re.split(r"[^a-z0-9]+", snake) if word)


@functools.lru_cache(maxsize=4096)
def is_sensitive(name: str, sensitive_names: tuple[str, ...]) -> bool:
    """True when one of ``sensitive_names`` appears as whole words in ``name``."""
    words = name_words(name)
    for sensitive in sensitive_names:
        needle = name_words(sensitive)
        size = len(needle)
        if size and any(
            words[i : i + size] == needle for i in range(len(words) - size + 1)
        ):
            return True
    return False


@dataclass(frozen=True)
class Converter:
    """Converts values with the limits in force when a request started recording."""

    max_length: int
    max_items: int
    max_depth: int
    sensitive_names: tuple[str, ...]

    @classmethod
    def from_settings(cls) -> Converter:
        return cls(
            max_length=conf.max_value_length(),
            max_items=conf.max_items(),
            max_depth=conf.max_depth(),
            sensitive_names=conf.sensitive_names(),
        )

    # Per recording: hashing the tuple of names for every lookup costs more than the check.
    _masked: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def masks(self, name: str) -> bool:
        masked = self._masked.get(name)
        if masked is None:
            masked = self._masked[name] = is_sensitive(name, self.sensitive_names)
        return masked

    def arguments(self, kwargs: Mapping[str, Any]) -> dict[str, JSON]:
        """Convert a send's keyword arguments, masking sensitive names.

        Names stay whole (columns look them up), except those DjDT's store
        decoder would take for its own markers.
        """
        result: dict[str, JSON] = {}
        for name, value in kwargs.items():
            key = _unique(name, result) if name in STORE_MARKERS else name
            result[key] = MASK if self.masks(name) else self.convert(value)
        return result

    def convert(self, value: Any) -> JSON:
        try:
            return self._convert(value, 0, set())
        except RecursionError:
            return "<too deeply nested>"
        except Exception:
            return self.text(f"<unrepresentable {type(value).__qualname__}>")

    def text(self, value: str) -> str:
        limit = self.max_length
        if len(value) <= limit:
            return value
        return f"{value[:limit]}… ({len(value) - limit} more characters)"

    def binary(self, value: bytes) -> str:
        """Like ``repr(value)``, cut at ``max_length`` characters of output."""
        pieces: list[str] = []
        length = 0
        for shown, byte in enumerate(value):
            piece = _BYTE_TEXT[byte]
            length += len(piece)
            if length > self.max_length:
                return f"b'{''.join(pieces)}'… ({len(value) - shown} more bytes)"
            pieces.append(piece)
        return f"b'{''.join(pieces)}'"

    def repr(self, value: Any) -> str:
        shortener = reprlib.Repr()
        shortener.maxlevel = 2
        shortener.maxstring = shortener.maxother = self.max_length
        return self.text(shortener.repr(value))

    def _convert(self, value: Any, depth: int, path: set[int]) -> JSON:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int) and not isinstance(value, enum.Enum):
            # Huge ints cannot even be turned into text past Python's digit limit.
            if value.bit_length() > 256:
                return f"<int of {value.bit_length()} bits>"
            return int(value)
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else str(value)
        if isinstance(value, str):
            return self.text(str(value))
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.binary(bytes(value))
        if isinstance(value, (datetime.date, datetime.time)):
            return value.isoformat()
        if isinstance(value, (decimal.Decimal, uuid.UUID, datetime.timedelta)):
            return str(value)
        if isinstance(value, enum.Enum):
            return self.text(f"{type(value).__qualname__}.{value.name}")
        if isinstance(value, Promise):
            return self.text(str(value))
        if isinstance(value, (Mapping, *_CONTAINERS)):
            if id(value) in path:
                return "<cycle>"
            if depth >= self.max_depth:
                # No contents: a repr would show values under sensitive keys.
                return f"<{type(value).__qualname__} of {len(value)} items>"
            path.add(id(value))
            try:
                if isinstance(value, Mapping):
                    return self._mapping(value, depth, path)
                return self._sequence(value, depth, path)
            finally:
                path.discard(id(value))
        return self.repr(value)

    def _mapping(self, value: Mapping[Any, Any], depth: int, path: set[int]) -> JSON:
        result: dict[str, JSON] = {}
        for count, (key, item) in enumerate(value.items()):
            if count == self.max_items:
                result[_unique("…", result)] = f"{len(value) - count} more items"
                break
            full = key if isinstance(key, str) else self.repr(key)
            # 1 and "1", or two long keys cut alike, must not overwrite each other.
            name = _unique(self.text(full), result)
            if self.masks(full):
                result[name] = MASK
            else:
                result[name] = self._convert(item, depth + 1, path)
        return result

    def _sequence(self, value: Any, depth: int, path: set[int]) -> JSON:
        result: list[JSON] = []
        for count, item in enumerate(value):
            if count == self.max_items:
                result.append(f"… {len(value) - count} more items")
                break
            result.append(self._convert(item, depth + 1, path))
        return result
