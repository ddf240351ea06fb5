"""System checks of LLMPanel's settings: E012 (previews, prices) and E007 (preview length)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import CheckMessage, Error, run_checks

from djdt_signalpanels import conf


def our_errors() -> list[CheckMessage]:
    return [
        error
        for error in run_checks()
        if (error.id or "").startswith("djdt_signalpanels.")
    ]


def only(errors: list[CheckMessage], check_id: str) -> CheckMessage:
    assert [error.id for error in errors] == [check_id], errors
    assert isinstance(errors[0], Error)
    return errors[0]


@pytest.mark.parametrize("value", [1, "yes", None, [True]])
def test_e012_previews_must_be_a_bool(settings: Any, value: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PREVIEWS": value}

    error = only(our_errors(), "djdt_signalpanels.E012")

    assert error.msg == (
        f"DJDT_SIGNALPANELS['LLM_PREVIEWS'] must be True or False, got {value!r}."
    )
    assert error.hint == "The default is False: prompts and answers are not recorded."


@pytest.mark.parametrize("value", [0, -1, "200", True, 2.5, None])
def test_e007_preview_length_must_be_a_positive_integer(
    settings: Any, value: Any
) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PREVIEW_LENGTH": value}

    error = only(our_errors(), "djdt_signalpanels.E007")

    assert error.msg == (
        "DJDT_SIGNALPANELS['LLM_PREVIEW_LENGTH'] must be a positive integer, "
        f"got {value!r}."
    )
    assert error.hint == "The default is 200."


@pytest.mark.parametrize(
    ("prices", "problem"),
    [
        ([("gpt-4o", 1)], "it must be a dict, got list"),
        (
            {"": {"input": 1, "output": 2}},
            "model names must be non-empty strings, got ''",
        ),
        (
            {1: {"input": 1, "output": 2}},
            "model names must be non-empty strings, got 1",
        ),
        ({"gpt-4o": 2.5}, "the price of 'gpt-4o' must be a dict, got 2.5"),
        ({"gpt-4o": {"input": 2.5}}, "the price of 'gpt-4o' needs 'output'"),
        ({"gpt-4o": {}}, "the price of 'gpt-4o' needs 'input' and 'output'"),
        (
            {"gpt-4o": {"input": 1, "output": 2, "cached": 1, "batch": 0}},
            "the price of 'gpt-4o' has unknown keys 'batch', 'cached'",
        ),
        (
            {"gpt-4o": {"input": "2.50", "output": 10}},
            "'gpt-4o' 'input' must be a number of at least 0, got '2.50'",
        ),
        (
            {"gpt-4o": {"input": 1, "output": -1}},
            "'gpt-4o' 'output' must be a number of at least 0, got -1",
        ),
        (
            {"gpt-4o": {"input": 1, "output": 2, "cached_input": True}},
            "'gpt-4o' 'cached_input' must be a number of at least 0, got True",
        ),
        (
            {"gpt-4o": {"input": float("nan"), "output": 2}},
            "'gpt-4o' 'input' must be a number of at least 0, got nan",
        ),
    ],
)
def test_e012_malformed_prices(settings: Any, prices: Any, problem: str) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PRICES": prices}

    error = only(our_errors(), "djdt_signalpanels.E012")

    assert error.msg == f"DJDT_SIGNALPANELS['LLM_PRICES'] is malformed: {problem}."
    assert error.hint is not None
    assert "prices per million tokens" in error.hint


def test_both_e012_errors_are_reported(settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PREVIEWS": "on", "LLM_PRICES": []}

    errors = our_errors()

    assert [error.id for error in errors] == ["djdt_signalpanels.E012"] * 2


def test_valid_llm_settings_pass(settings: Any) -> None:
    prices = {
        "gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.6},
        "claude-haiku-4-5": {"input": 1, "output": 5},
        "free-model": {"input": 0, "output": 0},
    }
    settings.DJDT_SIGNALPANELS = {
        "LLM_PREVIEWS": True,
        "LLM_PREVIEW_LENGTH": 50,
        "LLM_PRICES": prices,
    }

    assert our_errors() == []
    assert conf.llm_previews() is True
    assert conf.llm_preview_length() == 50
    assert conf.llm_prices() == prices


def test_defaults(settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {}

    assert conf.llm_previews() is False
    assert conf.llm_preview_length() == 200
    assert conf.llm_prices() == {}
