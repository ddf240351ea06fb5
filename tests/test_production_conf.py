"""The TECHNICAL_ERRORS accessor: defaults, parsing, read on every access."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from djdt_signalpanels.production import conf


def test_defaults() -> None:
    config = conf.get_config()

    assert config == conf.Config(
        superuser=True,
        staff=False,
        groups=(),
        permissions=(),
        ip_allowlist=(),
        trusted_proxies=0,
        callable_path=None,
        cache_alias="default",
        cache_timeout=60,
        fallback_handler="django.views.defaults.server_error",
        sensitive_names=(),
    )
    assert config.has_user_condition


def test_read_on_every_access() -> None:
    with override_settings(TECHNICAL_ERRORS={"GROUPS": ["Technical Errors"]}):
        assert conf.get_config().groups == ("Technical Errors",)
    assert conf.get_config().groups == ()


def test_parsed_values() -> None:
    setting = {
        "SUPERUSER": False,
        "STAFF": True,
        "GROUPS": ("Ops", "On call"),
        "PERMISSION": "myapp.view_errors",
        "IP_ALLOWLIST": ["10.0.0.1/8", " 192.0.2.7 ", "2001:db8::/32"],
        "TRUSTED_PROXIES": 2,
        "CALLABLE": "myapp.errors.allow",
        "CACHE_TIMEOUT": 30,
        "SENSITIVE_NAMES": ["ssn"],
    }
    with override_settings(TECHNICAL_ERRORS=setting):
        config = conf.get_config()

    assert config.groups == ("Ops", "On call")
    assert config.permissions == ("myapp.view_errors",)
    assert config.ip_allowlist == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    assert config.trusted_proxies == 2
    assert config.callable_path == "myapp.errors.allow"
    assert config.cache_timeout == 30
    assert config.sensitive_names == ("ssn",)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (["SUPERUSER"], "TECHNICAL_ERRORS must be a dict, got list."),
        ({"SUPERUSERS": True}, "unknown keys: SUPERUSERS"),
        ({"STAFF": 1}, "TECHNICAL_ERRORS['STAFF'] must be True or False"),
        (
            {"GROUPS": "Ops"},
            "TECHNICAL_ERRORS['GROUPS'] must be a list of non-empty strings",
        ),
        (
            {"GROUPS": [""]},
            "TECHNICAL_ERRORS['GROUPS'] must be a list of non-empty strings",
        ),
        (
            {"PERMISSION": "view_errors"},
            "must be a permission name 'app_label.codename'",
        ),
        ({"PERMISSION": ["a.b", 3]}, "must be a permission name 'app_label.codename'"),
        ({"IP_ALLOWLIST": "10.0.0.0/8"}, "must be a list of addresses or networks"),
        (
            {"IP_ALLOWLIST": ["10.0.0.300"]},
            "not an IP address or network: '10.0.0.300'",
        ),
        ({"TRUSTED_PROXIES": -1}, "TRUSTED_PROXIES'] must be an integer of 0 or more"),
        (
            {"TRUSTED_PROXIES": True},
            "TRUSTED_PROXIES'] must be an integer of 0 or more",
        ),
        ({"CALLABLE": "allow"}, "CALLABLE'] must be the dotted path of a callable"),
        ({"CACHE": "nope"}, "TECHNICAL_ERRORS['CACHE'] must name a cache in CACHES"),
        ({"CACHE_TIMEOUT": 0}, "CACHE_TIMEOUT'] must be a positive number of seconds"),
        (
            {"FALLBACK_HANDLER": conf.HANDLER_PATH},
            "must not be djdt_signalpanels.production.technical_server_error itself",
        ),
        (
            {"SENSITIVE_NAMES": "ssn"},
            "SENSITIVE_NAMES'] must be a list of non-empty strings",
        ),
    ],
)
def test_malformed(setting: Any, message: str) -> None:
    with (
        override_settings(TECHNICAL_ERRORS=setting),
        pytest.raises(ImproperlyConfigured, match=".*") as raised,
    ):
        conf.get_config()

    assert message in str(raised.value)


def test_fallback_handler_survives_other_errors() -> None:
    setting = {"GROUPS": "oops", "FALLBACK_HANDLER": "myapp.views.server_error"}
    with override_settings(TECHNICAL_ERRORS=setting):
        assert conf.fallback_handler_path() == "myapp.views.server_error"
    with override_settings(TECHNICAL_ERRORS="broken"):
        assert conf.fallback_handler_path() == "django.views.defaults.server_error"
        assert conf.cache_alias() == "default"
        assert conf.sensitive_names() == ()


def test_import_callable() -> None:
    assert conf.import_callable("CALLABLE", "django.views.defaults.server_error")
    with pytest.raises(ImproperlyConfigured, match="does not import"):
        conf.import_callable("CALLABLE", "tests.no_such_module.check")
    with pytest.raises(ImproperlyConfigured, match="is not callable"):
        conf.import_callable("CALLABLE", "tests.production_settings.DEBUG")
