"""System checks ``djdt_signalpanels.E001`` to ``E009``: each fires, with a hint."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from djdt_signalpanels.panels import FeatureFlagsPanel
from tests import check_panels
from tests.panels import SearchPanel

VALID_PANELS = list(django_settings.DEBUG_TOOLBAR_PANELS)


def our_errors() -> list[CheckMessage]:
    """What ``manage.py check`` reports from this package (settings and panels)."""
    return [
        error
        for error in run_checks()
        if (error.id or "").startswith("djdt_signalpanels.")
    ]


def only(errors: list[CheckMessage], check_id: str) -> CheckMessage:
    assert [error.id for error in errors] == [check_id], errors
    error = errors[0]
    assert isinstance(error, Error)
    return error


# Panel declarations: SignalPanel.run_checks(), which DjDT calls for each listed panel.


@pytest.mark.parametrize(
    ("panel", "path", "cause"),
    [
        (
            check_panels.MissingModulePanel,
            "tests.no_such_module.search_done",
            "No module named 'tests.no_such_module'",
        ),
        (
            check_panels.MissingAttributePanel,
            "tests.signals.no_such_signal",
            'does not define a "no_such_signal" attribute',
        ),
    ],
)
def test_e001_signal_path_does_not_import(panel: Any, path: str, cause: str) -> None:
    error = only(panel.run_checks(), "djdt_signalpanels.E001")

    assert error.msg.startswith(f"tests.check_panels.{panel.__name__}.signal: ")
    assert f"The signal path {path!r} does not import" in error.msg
    assert cause in error.msg
    assert error.hint is not None
    assert "dotted path" in error.hint
    assert "myapp.signals.search_done" in error.hint
    assert error.obj is panel


def test_e002_signal_missing() -> None:
    error = only(check_panels.NoSignalPanel.run_checks(), "djdt_signalpanels.E002")

    assert (
        "NoSignalPanel.signal must be a Signal or its dotted path, got None."
        in error.msg
    )
    assert error.hint is not None
    assert "django.dispatch.Signal()" in error.hint


def test_e002_path_names_something_else() -> None:
    error = only(check_panels.NotASignalPanel.run_checks(), "djdt_signalpanels.E002")

    assert "sync_view" in error.msg
    assert "is not a django.dispatch.Signal instance" in error.msg
    assert error.hint is not None
    assert "dotted path" in error.hint


def test_e002_signal_given_as_a_list() -> None:
    """An unhashable spec must be reported, not crash ``manage.py check``."""
    error = only(check_panels.SignalInAListPanel.run_checks(), "djdt_signalpanels.E002")

    assert "tests.signals.search_done" in error.msg


@pytest.mark.parametrize(
    ("panel", "cause"),
    [
        (
            check_panels.BadColumnNamePanel,
            "Column name must be a keyword argument name, got 'took ms'.",
        ),
        (check_panels.DuplicateColumnsPanel, "columns name query more than once."),
        (
            check_panels.ColumnsStringPanel,
            "columns must be a list of Column objects or names",
        ),
    ],
)
def test_e003_malformed_columns(panel: Any, cause: str) -> None:
    error = only(panel.run_checks(), "djdt_signalpanels.E003")

    assert error.msg.startswith(
        f"tests.check_panels.{panel.__name__}.columns is malformed: "
    )
    assert cause in error.msg
    assert error.hint is not None
    assert 'Column("hits", "Hits")' in error.hint


def test_well_formed_panels_pass() -> None:
    assert SearchPanel.run_checks() == []
    assert FeatureFlagsPanel.run_checks() == []


def test_e004_app_not_installed() -> None:
    apps = [app for app in django_settings.INSTALLED_APPS if app != "djdt_signalpanels"]
    with override_settings(INSTALLED_APPS=apps):
        errors = our_errors()

    # DjDT runs the checks of each listed panel, even without this app.
    assert {error.id for error in errors} == {"djdt_signalpanels.E004"}
    assert {error.obj for error in errors} == {FeatureFlagsPanel, SearchPanel}
    error = next(error for error in errors if error.obj is SearchPanel)
    assert (
        error.msg
        == "tests.panels.SearchPanel needs 'djdt_signalpanels' in INSTALLED_APPS."
    )
    assert error.hint is not None
    assert "Add 'djdt_signalpanels' to INSTALLED_APPS" in error.hint


def test_listed_broken_panel_is_checked_through_the_toolbar(settings: Any) -> None:
    settings.DEBUG_TOOLBAR_PANELS = [
        *VALID_PANELS,
        "tests.check_panels.MissingAttributePanel",
    ]

    error = only(our_errors(), "djdt_signalpanels.E001")

    assert error.obj is check_panels.MissingAttributePanel


# The DJDT_SIGNALPANELS setting


@pytest.mark.parametrize("value", [[("MAX_EVENTS", 10)], "MAX_EVENTS=10", None, 10])
def test_e005_setting_not_a_dict(settings: Any, value: Any) -> None:
    settings.DJDT_SIGNALPANELS = value

    error = only(our_errors(), "djdt_signalpanels.E005")

    assert error.msg == f"DJDT_SIGNALPANELS must be a dict, got {type(value).__name__}."
    assert error.hint == "For example DJDT_SIGNALPANELS = {'MAX_EVENTS': 500}."


def test_e006_unknown_key(settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"MAX_EVENT": 10, "MAX_ITEMS": 5}

    error = only(our_errors(), "djdt_signalpanels.E006")

    assert error.msg == "DJDT_SIGNALPANELS has an unknown key 'MAX_EVENT'."
    assert error.hint == (
        "Known keys: LLM_PREVIEWS, LLM_PREVIEW_LENGTH, LLM_PRICES, MAX_DEPTH, "
        "MAX_EVENTS, MAX_ITEMS, MAX_VALUE_LENGTH, REDIS_URL, SENSITIVE_NAMES."
    )


def test_e006_each_unknown_key_is_named(settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"max_events": 10, "SENSITIVE": []}

    errors = our_errors()

    assert [error.id for error in errors] == ["djdt_signalpanels.E006"] * 2
    assert sorted(error.msg for error in errors) == [
        "DJDT_SIGNALPANELS has an unknown key 'SENSITIVE'.",
        "DJDT_SIGNALPANELS has an unknown key 'max_events'.",
    ]


@pytest.mark.parametrize(
    ("key", "default"),
    [
        ("MAX_EVENTS", 1000),
        ("MAX_VALUE_LENGTH", 1000),
        ("MAX_ITEMS", 100),
        ("MAX_DEPTH", 6),
    ],
)
@pytest.mark.parametrize("value", [0, -5, "100", True, 2.5, None])
def test_e007_limits_must_be_positive_integers(
    settings: Any, key: str, default: int, value: Any
) -> None:
    settings.DJDT_SIGNALPANELS = {key: value}

    error = only(our_errors(), "djdt_signalpanels.E007")

    assert (
        error.msg
        == f"DJDT_SIGNALPANELS[{key!r}] must be a positive integer, got {value!r}."
    )
    assert error.hint == f"The default is {default}."


@pytest.mark.parametrize("value", ["token", ["pin", ""], [1], None, {"pin"}, [["pin"]]])
def test_e008_sensitive_names(settings: Any, value: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"SENSITIVE_NAMES": value}

    error = only(our_errors(), "djdt_signalpanels.E008")

    assert error.msg == (
        "DJDT_SIGNALPANELS['SENSITIVE_NAMES'] must be a list of non-empty strings, "
        f"got {value!r}."
    )
    assert error.hint is not None
    assert "they add to the built-in names" in error.hint


def test_valid_setting_passes(settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {
        "MAX_EVENTS": 10,
        "MAX_VALUE_LENGTH": 1,
        "MAX_ITEMS": 3,
        "MAX_DEPTH": 2,
        "SENSITIVE_NAMES": ("client_key", "X-Internal-Auth"),
    }

    assert our_errors() == []


def test_missing_setting_passes(settings: Any) -> None:
    del settings.DJDT_SIGNALPANELS

    assert our_errors() == []


# Panel ids


def test_e009_two_panels_with_one_id(settings: Any) -> None:
    settings.DEBUG_TOOLBAR_PANELS = [*VALID_PANELS, "tests.check_panels.SearchPanel"]

    error = only(our_errors(), "djdt_signalpanels.E009")

    assert error.msg == (
        "More than one panel in DEBUG_TOOLBAR_PANELS has the id 'SearchPanel'; "
        "the toolbar would show only one of them."
    )
    assert error.hint is not None
    assert "panel_id" in error.hint


def test_e009_ignores_panels_that_do_not_import(settings: Any) -> None:
    """DjDT reports those itself; this check must not crash on them."""
    from djdt_signalpanels.checks import check_panel_ids

    settings.DEBUG_TOOLBAR_PANELS = [*VALID_PANELS, "tests.no_such_module.Panel"]

    assert check_panel_ids(None) == []


# manage.py check


def test_check_command_passes_on_valid_settings() -> None:
    out = io.StringIO()

    call_command("check", stdout=out)

    assert "System check identified no issues" in out.getvalue()


def test_check_command_fails_on_a_listed_broken_panel(settings: Any) -> None:
    settings.DEBUG_TOOLBAR_PANELS = [
        *VALID_PANELS,
        "tests.check_panels.MissingModulePanel",
    ]

    with pytest.raises(SystemCheckError) as error:
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())

    assert "djdt_signalpanels.E001" in str(error.value)
    assert "tests.check_panels.MissingModulePanel" in str(error.value)


def test_panel_caches_are_reset_after_an_override() -> None:
    """DjDT clears its cached panel list on setting_changed, on the way out too."""
    from debug_toolbar.toolbar import DebugToolbar

    broken = [*VALID_PANELS, "tests.check_panels.MissingModulePanel"]
    with override_settings(DEBUG_TOOLBAR_PANELS=broken):
        assert check_panels.MissingModulePanel in (
            DebugToolbar.get_panel_classes() or []
        )

    assert check_panels.MissingModulePanel not in (
        DebugToolbar.get_panel_classes() or []
    )
    assert our_errors() == []
