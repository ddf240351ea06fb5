"""Conversion of signal arguments into small, JSON-native, masked data."""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import math
import re
import uuid
from typing import Any

import pytest
from debug_toolbar.store import deserialize, serialize
from django.test import override_settings
from django.utils.translation import gettext_lazy
from hypothesis import (
    HealthCheck,
    given,
)
from hypothesis import (
    settings as hypothesis_settings,
)
from hypothesis import (
    strategies as st,
)

from djdt_signalpanels import conf
from djdt_signalpanels.values import MASK, Converter, is_sensitive, name_words

# Longest text the converter adds past MAX_VALUE_LENGTH, or uses as a marker
# ("… (123456 more characters)", "<too deeply nested>", the mask).
SUFFIX = 60


def converter(**limits: Any) -> Converter:
    values = {
        "max_length": 1000,
        "max_items": 100,
        "max_depth": 6,
        "sensitive_names": conf.DEFAULT_SENSITIVE_NAMES,
        **limits,
    }
    return Converter(**values)


def strings(value: Any) -> list[str]:
    """Every string in a converted value, dict keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *strings(item)]]
    return []


def assert_json_native(value: Any) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        assert math.isfinite(value), value
        return
    if isinstance(value, list):
        for item in value:
            assert_json_native(item)
        return
    assert isinstance(value, dict), type(value)
    for key, item in value.items():
        assert isinstance(key, str), key
        assert_json_native(item)


class RaisingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr failed")


class NonStrRepr:
    def __repr__(self) -> Any:
        return 42


class RaisingEverything:
    """Raises from every method a converter might try."""

    def __repr__(self) -> str:
        raise ValueError("no repr")

    def __str__(self) -> str:
        raise ValueError("no str")

    def __iter__(self) -> Any:
        raise ValueError("no iteration")

    def __len__(self) -> int:
        raise ValueError("no len")


# Masking


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "access_token",
        "X-Api-Key",
        "apiKey",
        "api_key",
        "client_secret",
        "Authorization",
        "cookie",
        "HTTP_COOKIE",
        "X-Auth-Token",
        "refreshToken",
        "sessionid",
    ],
)
def test_sensitive_names_are_masked(name: str) -> None:
    result = converter().arguments({name: "s3cr3t-value"})

    assert result == {name: MASK}


@pytest.mark.parametrize(
    "name", ["input_tokens", "author", "keyboard", "tokenizer", "passage", "cookbook"]
)
def test_names_that_only_contain_a_sensitive_word_are_kept(name: str) -> None:
    result = converter().arguments({name: "visible"})

    assert result == {name: "visible"}


def test_name_words_split_every_spelling_alike() -> None:
    assert name_words("X-Api-Key") == ("x", "api", "key")
    assert name_words("apiKey") == ("api", "key")
    assert name_words("API_KEY") == ("api", "key")
    assert name_words("input_tokens") == ("input", "tokens")
    assert not is_sensitive("input_tokens", ("token",))
    assert is_sensitive("input_token", ("token",))


def test_nested_dict_keys_are_masked() -> None:
    kwargs = {
        "headers": {"Authorization": "Bearer abc", "Accept": "application/json"},
        "calls": [{"request": {"client_secret": "xyz", "author": "ann"}}],
        "config": {"nested": {"deeper": {"apiKey": "k-1"}}},
    }

    result = converter().arguments(kwargs)

    assert result == {
        "headers": {"Authorization": MASK, "Accept": "application/json"},
        "calls": [{"request": {"client_secret": MASK, "author": "ann"}}],
        "config": {"nested": {"deeper": {"apiKey": MASK}}},
    }


def test_a_masked_container_is_masked_whole() -> None:
    result = converter().arguments({"cookies": {"sessionid": "abc", "theme": "dark"}})

    assert result == {"cookies": MASK}


def test_non_str_keys_are_masked_by_their_text() -> None:
    result = converter().convert({("password",): "hunter2", b"token": "t"})

    assert isinstance(result, dict)
    assert set(result.values()) == {MASK}


def test_sensitive_names_setting_adds_to_the_defaults() -> None:
    with override_settings(
        DJDT_SIGNALPANELS={"SENSITIVE_NAMES": ["client_key", "pin"]}
    ):
        extended = Converter.from_settings()

    result = extended.arguments(
        {
            "client_key": "a",
            "X-Client-Key": "b",
            "pin": "1234",
            "password": "still masked",
            "client": "kept",
            "spinner": "kept",
            "nested": {"clientKey": "c"},
        }
    )

    assert result == {
        "client_key": MASK,
        "X-Client-Key": MASK,
        "pin": MASK,
        "password": MASK,
        "client": "kept",
        "spinner": "kept",
        "nested": {"clientKey": MASK},
    }
    assert converter().arguments({"client_key": "a"}) == {"client_key": "a"}


def test_values_past_max_depth_do_not_leak_masked_names() -> None:
    """Past MAX_DEPTH a container is shown as its repr, which must still mask."""
    kwargs = {"outer": {"inner": {"password": "hunter2", "user": "ann"}}}

    result = converter(max_depth=1).arguments(kwargs)

    assert "hunter2" not in json.dumps(result)


# Truncation and limits


def test_long_strings_are_cut_with_the_count_of_what_was_cut() -> None:
    result = converter(max_length=10).convert("x" * 1_000_010)

    assert result == "x" * 10 + "… (1000000 more characters)"


def test_strings_at_the_limit_are_kept_whole() -> None:
    assert converter(max_length=10).convert("y" * 10) == "y" * 10


def test_long_bytes_are_cut_with_the_count_of_what_was_cut() -> None:
    result = converter(max_length=10).convert(b"a" * 5000)

    assert isinstance(result, str)
    match = re.fullmatch(r"b'(a+)'… \((\d+) more bytes\)", result)
    assert match, result
    shown, cut = len(match.group(1)), int(match.group(2))
    assert shown + cut == 5000
    assert len(result) <= 10 + SUFFIX


def test_short_bytes_are_shown_as_their_repr() -> None:
    assert converter().convert(b"ok\x00") == "b'ok\\x00'"
    assert converter().convert(bytearray(b"ab")) == "b'ab'"
    assert converter().convert(memoryview(b"ab")) == "b'ab'"


def test_bytes_that_escape_stay_within_the_limit() -> None:
    """Each unprintable byte takes four characters in a repr."""
    result = converter(max_length=100).convert(b"\x00" * 100)

    assert isinstance(result, str)
    assert len(result) <= 100 + SUFFIX


def test_long_dict_keys_are_cut() -> None:
    result: Any = converter(max_length=10).arguments(
        {"d": {"n" * 5000: 2, "m" * 5000: 3}}
    )

    assert isinstance(result["d"], dict)
    assert sorted(result["d"].values()) == [2, 3]
    assert all(len(text) <= 10 + SUFFIX for text in strings(result))


@pytest.mark.parametrize("container", [list, tuple, set, frozenset])
def test_max_items_cuts_sequences_and_sets(container: type) -> None:
    result = converter(max_items=3).convert(container(range(10)))

    assert isinstance(result, list)
    assert len(result) == 4
    assert result[-1] == "… 7 more items"
    if container in (list, tuple):
        assert result[:3] == [0, 1, 2]


def test_max_items_cuts_dicts() -> None:
    result = converter(max_items=2).convert({f"k{index}": index for index in range(5)})

    assert result == {"k0": 0, "k1": 1, "…": "3 more items"}


def test_containers_at_the_limit_are_kept_whole() -> None:
    assert converter(max_items=3).convert([1, 2, 3]) == [1, 2, 3]


def test_max_depth_shows_deeper_containers_as_text() -> None:
    result = converter(max_depth=2).convert([[["deep", 1]], "top"])

    assert isinstance(result, list)
    assert result[1] == "top"
    assert isinstance(result[0], list)
    assert len(result[0]) == 1
    assert isinstance(result[0][0], str)


def test_max_depth_applies_to_dicts() -> None:
    result = converter(max_depth=1).convert({"a": {"b": 1}, "c": 2})

    assert isinstance(result, dict)
    assert result["c"] == 2
    assert isinstance(result["a"], str)


def test_a_real_key_named_like_the_truncation_marker_is_kept() -> None:
    result = converter(max_items=1).convert({"…": "real value", "b": 2})

    assert isinstance(result, dict)
    assert "real value" in result.values()
    assert "1 more items" in result.values()


def test_settings_give_the_limits() -> None:
    limits = {"MAX_VALUE_LENGTH": 5, "MAX_ITEMS": 2, "MAX_DEPTH": 3}
    with override_settings(DJDT_SIGNALPANELS=limits):
        configured = Converter.from_settings()

    assert configured.convert("abcdefgh") == "abcde… (3 more characters)"
    assert configured.convert([1, 2, 3]) == [1, 2, "… 1 more items"]
    assert configured.max_depth == 3


# Cycles and shared values


def test_list_cycle() -> None:
    cycle: list[Any] = [1]
    cycle.append(cycle)

    assert converter().convert(cycle) == [1, "<cycle>"]


def test_dict_cycle() -> None:
    cycle: dict[str, Any] = {"name": "root"}
    cycle["self"] = cycle
    cycle["children"] = [{"parent": cycle}]

    result = converter().convert(cycle)

    assert result == {
        "name": "root",
        "self": "<cycle>",
        "children": [{"parent": "<cycle>"}],
    }


def test_shared_values_that_are_not_cycles_are_shown_each_time() -> None:
    shared = [1, 2]

    assert converter().convert([shared, shared, {"again": shared}]) == [
        [1, 2],
        [1, 2],
        {"again": [1, 2]},
    ]


# Objects that misbehave


def test_object_whose_repr_raises() -> None:
    result = converter().convert(RaisingRepr())

    assert isinstance(result, str)
    assert "RaisingRepr" in result


def test_object_whose_repr_returns_a_non_str() -> None:
    result = converter().convert(NonStrRepr())

    assert isinstance(result, str)
    assert "NonStrRepr" in result


def test_object_that_raises_everywhere_inside_containers() -> None:
    result = converter().arguments(
        {"value": [RaisingEverything(), {"k": RaisingEverything()}]}
    )

    assert_json_native(result)
    assert json.loads(json.dumps(result)) == result


def test_bad_repr_as_a_dict_key() -> None:
    result: Any = converter().convert({RaisingRepr(): 1, NonStrRepr(): 2})

    assert isinstance(result, dict)
    assert sorted(result.values()) == [1, 2]


def test_long_reprs_are_cut() -> None:
    class LongRepr:
        def __repr__(self) -> str:
            return "r" * 5000

    result = converter(max_length=20).convert(LongRepr())

    assert isinstance(result, str)
    assert len(result) <= 20 + SUFFIX


# Keys


def test_non_str_keys_become_text() -> None:
    result = converter().convert({1: "one", None: "none", (1, 2): "pair", 2.5: "x"})

    assert result == {"1": "one", "None": "none", "(1, 2)": "pair", "2.5": "x"}


def test_int_and_str_keys_with_the_same_text_are_both_kept() -> None:
    result: Any = converter().convert({1: "int", "1": "str"})

    assert isinstance(result, dict)
    assert len(result) == 2
    assert sorted(result.values()) == ["int", "str"]
    assert result["1"] in ("int", "str")


def test_many_keys_with_the_same_text_are_all_kept() -> None:
    class Same:
        def __repr__(self) -> str:
            return "same"

    value = {Same(): index for index in range(5)} | {"same": "str"}

    result = converter().convert(value)

    assert isinstance(result, dict)
    assert sorted(map(str, result.values())) == ["0", "1", "2", "3", "4", "str"]


def test_keys_that_look_like_djdt_store_markers_survive_the_store() -> None:
    """DjDT's decoder turns {"__djdt_binary__": ...} back into bytes."""
    result = converter().arguments(
        {"payload": {"__djdt_binary__": "aGk=", "__djdt_postgis__": "aGk="}}
    )

    assert deserialize(serialize(result)) == result


# Scalars


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (0, 0),
        (-12, -12),
        (1.5, 1.5),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (2**256 - 1, 2**256 - 1),
        (2**300, "<int of 301 bits>"),
        ("text", "text"),
    ],
)
def test_scalars(value: Any, expected: Any) -> None:
    result = converter().convert(value)

    assert result == expected
    assert type(result) is type(expected)


def test_ints_too_long_for_text() -> None:
    """Python refuses str() of ints past 4300 digits; the converter must not."""
    huge = 10**5000

    assert converter().convert(huge) == f"<int of {huge.bit_length()} bits>"


def test_bool_and_int_subclasses_become_plain() -> None:
    class MyInt(int):
        pass

    result = converter().convert(MyInt(3))

    assert result == 3
    assert type(result) is int


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC),
            "2024-05-01T12:30:00+00:00",
        ),
        (datetime.date(2024, 5, 1), "2024-05-01"),
        (datetime.time(12, 30, 5), "12:30:05"),
        (datetime.timedelta(seconds=90), "0:01:30"),
        (decimal.Decimal("1.10"), "1.10"),
        (decimal.Decimal("NaN"), "NaN"),
        (
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "12345678-1234-5678-1234-567812345678",
        ),
        (Color.RED, "Color.RED"),
        (Level.HIGH, "Level.HIGH"),
        (gettext_lazy("Feature flags"), "Feature flags"),
    ],
)
def test_well_known_types(value: Any, expected: str) -> None:
    assert converter().convert(value) == expected


# Properties over arbitrary input

SENSITIVE_SPELLINGS = [
    "password",
    "access_token",
    "X-Api-Key",
    "apiKey",
    "client_secret",
    "Authorization",
    "cookie",
]
SECRET = "SECRET-0f8e2d"

hashables = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=4,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary()
    | st.builds(RaisingRepr)
    | st.builds(NonStrRepr)
    | st.builds(RaisingEverything)
)


def with_secrets(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Containers of ``inner``, some holding SECRET under a sensitive name."""
    secret_value = st.sampled_from(
        [SECRET, [SECRET], {"value": SECRET}, (SECRET, 1), b"SECRET-0f8e2d"]
    )
    secret = st.builds(
        lambda name, value, rest: {**rest, name: value},
        st.sampled_from(SENSITIVE_SPELLINGS),
        secret_value,
        st.dictionaries(st.text(max_size=5), inner, max_size=2),
    )
    return (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(hashables, inner, max_size=4)
        | st.dictionaries(st.text(), inner, max_size=4)
        | secret
    )


values = st.recursive(scalars, with_secrets, max_leaves=20)

kwargs_strategy = st.dictionaries(
    st.text(max_size=20) | st.sampled_from(SENSITIVE_SPELLINGS), values, max_size=5
)

limits = st.fixed_dictionaries(
    {
        "max_length": st.integers(1, 50),
        "max_items": st.integers(1, 5),
        "max_depth": st.integers(1, 5),
    }
)

PROPERTY_SETTINGS = hypothesis_settings(
    max_examples=150,
    deadline=None,  # no timing assertions in tests
    suppress_health_check=[HealthCheck.too_slow],
)


def secrets_under_sensitive_names(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Put SECRET under every sensitive top-level name too."""
    return {
        name: SECRET if is_sensitive(name, conf.DEFAULT_SENSITIVE_NAMES) else value
        for name, value in kwargs.items()
    }


@PROPERTY_SETTINGS
@given(kwargs=kwargs_strategy, limits=limits)
def test_conversion_is_safe_for_any_arguments(
    kwargs: dict[str, Any], limits: dict[str, int]
) -> None:
    convert = converter(**limits)
    kwargs = secrets_under_sensitive_names(kwargs)

    result = convert.arguments(kwargs)

    assert_json_native(result)
    assert set(result) == set(kwargs)
    # The round trip every DjDT store makes, and plain json's.
    assert deserialize(serialize(result)) == result
    assert json.loads(json.dumps(result)) == result
    # Argument names are the sender's identifiers and stay whole; the rest is cut.
    longest = max(map(len, strings(list(result.values()))), default=0)
    assert longest <= convert.max_length + SUFFIX
    assert SECRET not in json.dumps(result)


@PROPERTY_SETTINGS
@given(kwargs=kwargs_strategy)
def test_conversion_with_default_settings_is_safe(kwargs: dict[str, Any]) -> None:
    convert = Converter.from_settings()
    kwargs = secrets_under_sensitive_names(kwargs)

    result = convert.arguments(kwargs)

    assert_json_native(result)
    assert deserialize(serialize(result)) == result
    assert SECRET not in json.dumps(result)
    longest = max(map(len, strings(list(result.values()))), default=0)
    assert longest <= conf.max_value_length() + SUFFIX


@PROPERTY_SETTINGS
@given(value=st.dictionaries(hashables, st.integers(), max_size=8))
def test_no_dict_entry_is_lost(value: dict[Any, int]) -> None:
    """Keys with the same text (1 and "1", reprs alike) never overwrite each other."""
    result: Any = converter(sensitive_names=()).convert(value)  # no masking here

    assert isinstance(result, dict)
    assert sorted(result.values()) == sorted(value.values())
