"""Cached group membership: queries cold and warm, and every way it is invalidated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.cache import BaseCache, caches
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from djdt_signalpanels.production import invalidate_membership
from djdt_signalpanels.production.membership import (
    VERSION_KEY,
    agroup_names,
    group_names,
    groups_relation,
    user_key,
)

TIMEOUT = 60


@pytest.fixture(autouse=True)
def cache(db: None) -> Iterator[BaseCache]:
    default = caches["default"]
    default.clear()
    yield default
    default.clear()


def names(user: User) -> frozenset[str]:
    return group_names(user, alias="default", timeout=TIMEOUT)


def counted(lookup: Callable[[], frozenset[str]]) -> tuple[frozenset[str], int]:
    with CaptureQueriesContext(connection) as queries:
        result = lookup()
    return result, len(queries)


@pytest.fixture
def ops() -> Group:
    return Group.objects.create(name="Technical Errors")


@pytest.fixture
def ann() -> User:
    return User.objects.create_user("ann")


def test_cold_then_warm(ann: User, ops: Group) -> None:
    ann.groups.add(ops)

    assert counted(lambda: names(ann)) == (frozenset({"Technical Errors"}), 1)
    assert counted(lambda: names(ann)) == (frozenset({"Technical Errors"}), 0)


def test_async_cold_then_warm(ann: User, ops: Group) -> None:
    ann.groups.add(ops)

    def lookup() -> frozenset[str]:
        return async_to_sync(agroup_names)(ann, alias="default", timeout=TIMEOUT)

    assert counted(lookup) == (frozenset({"Technical Errors"}), 1)
    assert counted(lookup) == (frozenset({"Technical Errors"}), 0)
    # Both variants share the cache entries.
    assert counted(lambda: names(ann)) == (frozenset({"Technical Errors"}), 0)


def test_entries_expire(ann: User, cache: BaseCache) -> None:
    names(ann)
    cache.touch(user_key(ann.pk), 0)  # as if CACHE_TIMEOUT had passed

    assert counted(lambda: names(ann))[1] == 1


# Invalidation, from each side of the relation


def test_add_and_remove_from_the_user_side(ann: User, ops: Group) -> None:
    assert names(ann) == frozenset()
    ann.groups.add(ops)
    assert names(ann) == {"Technical Errors"}
    ann.groups.remove(ops)
    assert names(ann) == frozenset()
    ann.groups.set([ops])
    assert names(ann) == {"Technical Errors"}
    ann.groups.clear()
    assert names(ann) == frozenset()


def test_add_and_remove_from_the_group_side(ann: User, ops: Group) -> None:
    assert names(ann) == frozenset()
    ops.user_set.add(ann)
    assert names(ann) == {"Technical Errors"}
    ops.user_set.remove(ann)
    assert names(ann) == frozenset()
    ops.user_set.add(ann)
    assert names(ann) == {"Technical Errors"}
    ops.user_set.clear()
    assert names(ann) == frozenset()


def test_only_the_members_concerned_are_invalidated(ann: User, ops: Group) -> None:
    bob = User.objects.create_user("bob")
    names(ann), names(bob)

    ann.groups.add(ops)

    assert counted(lambda: names(bob))[1] == 0
    assert counted(lambda: names(ann)) == (frozenset({"Technical Errors"}), 1)


def test_renaming_a_group_invalidates_everyone(ann: User, ops: Group) -> None:
    ann.groups.add(ops)
    assert names(ann) == {"Technical Errors"}

    ops.name = "Former ops"
    ops.save()

    assert names(ann) == {"Former ops"}


def test_deleting_a_group_invalidates_everyone(ann: User, ops: Group) -> None:
    ann.groups.add(ops)
    assert names(ann) == {"Technical Errors"}

    ops.delete()

    assert names(ann) == frozenset()


def test_deleting_a_user_drops_its_entry(
    ann: User, ops: Group, cache: BaseCache
) -> None:
    ann.groups.add(ops)
    names(ann)
    assert cache.get(user_key(ann.pk)) is not None

    ann.delete()

    # Its primary key may be given to a new user.
    assert cache.get(user_key(ann.pk)) is None


def test_invalidation_runs_again_on_commit(
    ann: User,
    ops: Group,
    cache: BaseCache,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        ann.groups.add(ops)
        # A concurrent request read the membership before the commit.
        cache.set(user_key(ann.pk), (cache.get(VERSION_KEY), []), TIMEOUT)
    for callback in callbacks:
        callback()

    assert names(ann) == {"Technical Errors"}


def test_evicted_version_does_not_revive_old_entries(
    ann: User, ops: Group, cache: BaseCache
) -> None:
    names(ann)
    old_version = cache.get(VERSION_KEY)
    cache.delete(VERSION_KEY)
    # A stale entry under the old version, membership changed meanwhile.
    cache.set(user_key(ann.pk), (old_version, []), TIMEOUT)
    User.groups.through.objects.create(user=ann, group=ops)  # sends no signal

    assert names(ann) == {"Technical Errors"}
    assert cache.get(VERSION_KEY) != old_version


def test_invalidate_membership(ann: User, ops: Group) -> None:
    names(ann)
    # Bulk changes send no signal: the cached entry is stale...
    User.groups.through.objects.create(user=ann, group=ops)
    assert names(ann) == frozenset()

    invalidate_membership([ann.pk])
    assert names(ann) == {"Technical Errors"}

    Group.objects.filter(pk=ops.pk).update(name="Renamed")
    invalidate_membership()
    assert names(ann) == {"Renamed"}


# Outages


class BrokenCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def _down(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache server unreachable")

    add = get = set = touch = delete = clear = has_key = incr = _down
    get_many = set_many = delete_many = _down


def test_lookup_propagates_a_cache_outage(ann: User) -> None:
    with (
        override_settings(CACHES={"default": {"BACKEND": f"{__name__}.BrokenCache"}}),
        pytest.raises(ConnectionError),
    ):
        names(ann)


def test_changes_still_save_during_a_cache_outage(
    ann: User, ops: Group, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(CACHES={"default": {"BACKEND": f"{__name__}.BrokenCache"}}):
        ann.groups.add(ops)
        ops.name = "Renamed"
        ops.save()
        ann.delete()

    assert Group.objects.get().name == "Renamed"
    assert "Could not invalidate cached group membership" in caplog.text


def test_groups_relation() -> None:
    assert groups_relation(User) is not None
    assert groups_relation(ContentType) is None
