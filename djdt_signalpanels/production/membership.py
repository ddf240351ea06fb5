"""Group membership, cached per user so that the error path needs no query.

A user's group names are cached under one key per user, stored together with
a version number. The version lives under a key of its own: saving or deleting
any group replaces it, which invalidates every user's entry at once (a renamed
group must not keep granting access under its old name). Adding or removing
members, from either side of the relation, and deleting a user drop the
entries of the users concerned. A warm lookup is a single ``get_many`` call.

Changes that send no signal (``QuerySet.update()`` on groups, bulk deletes of
the membership table, raw SQL) are picked up when the entries expire, after
``CACHE_TIMEOUT`` seconds, or at once with :func:`invalidate_membership`.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache import BaseCache, caches
from django.db import transaction

from . import conf

logger = logging.getLogger("djdt_signalpanels.production")

KEY_PREFIX = "djdt_signalpanels.production.groups"
VERSION_KEY = f"{KEY_PREFIX}.version"
DISPATCH_UID = "djdt_signalpanels.production.membership"


def user_key(pk: Any) -> str:
    return f"{KEY_PREFIX}.user.{pk}"


def _cache(alias: str | None = None) -> BaseCache:
    return caches[alias or conf.cache_alias()]


def _new_version() -> str:
    # Random rather than incremented: a version key that was evicted and
    # recreated must not bring back entries stored under an old number.
    return secrets.token_hex(8)


def _entry_names(entry: Any, version: Any) -> frozenset[str] | None:
    if (
        isinstance(entry, (list, tuple))
        and len(entry) == 2
        and entry[0] == version
        and isinstance(entry[1], (list, tuple))
    ):
        return frozenset(entry[1])
    return None


def _query(user: Any) -> frozenset[str]:
    return frozenset(user.groups.values_list("name", flat=True))


def group_names(user: Any, *, alias: str, timeout: int) -> frozenset[str]:
    """The names of the groups ``user`` belongs to, from the cache when possible.

    Cache and database errors propagate: the caller decides what they mean.
    """
    cache = _cache(alias)
    key = user_key(user.pk)
    found = cache.get_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY)
    if version is not None:
        names = _entry_names(found.get(key), version)
        if names is not None:
            return names
    else:
        version = _new_version()
        if not cache.add(VERSION_KEY, version, timeout=None):
            version = cache.get(VERSION_KEY, version)
    names = _query(user)
    cache.set(key, (version, sorted(names)), timeout)
    return names


async def agroup_names(user: Any, *, alias: str, timeout: int) -> frozenset[str]:
    """:func:`group_names` for async code: the cache and the ORM are awaited."""
    cache = _cache(alias)
    key = user_key(user.pk)
    found = await cache.aget_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY)
    if version is not None:
        names = _entry_names(found.get(key), version)
        if names is not None:
            return names
    else:
        version = _new_version()
        if not await cache.aadd(VERSION_KEY, version, timeout=None):
            version = await cache.aget(VERSION_KEY, version)
    names = await sync_to_async(_query)(user)
    await cache.aset(key, (version, sorted(names)), timeout)
    return names


def invalidate_membership(user_pks: Any = None) -> None:
    """Forget cached group membership: of these user primary keys, or of everyone.

    Call it after changing groups or memberships in ways that send no model
    signals (``QuerySet.update()``, bulk deletes, raw SQL). Errors propagate.
    """
    cache = _cache()
    if user_pks is None:
        cache.set(VERSION_KEY, _new_version(), timeout=None)
    else:
        cache.delete_many([user_key(pk) for pk in user_pks])


def _invalidate_safely(user_pks: Any, using: str | None) -> None:
    """Invalidate now and again when the transaction commits; never raises.

    A request that runs between the change and the commit can cache the old
    membership; the second invalidation drops it. A failing cache must not
    break the admin page that edits a group: the entries then expire after
    ``CACHE_TIMEOUT`` seconds.
    """
    pks = None if user_pks is None else list(user_pks)

    def invalidate() -> None:
        try:
            invalidate_membership(pks)
        except Exception:
            logger.warning(
                "Could not invalidate cached group membership; cached entries "
                "expire after CACHE_TIMEOUT seconds.",
                exc_info=True,
            )

    invalidate()
    try:
        transaction.on_commit(invalidate, using=using)
    except Exception:
        logger.warning("Could not schedule the invalidation on commit.", exc_info=True)


def group_changed(sender: Any, using: str | None = None, **kwargs: Any) -> None:
    """post_save and post_delete of a group: a rename or deletion affects everyone."""
    _invalidate_safely(None, using)


def user_deleted(
    sender: Any, instance: Any, using: str | None = None, **kwargs: Any
) -> None:
    """post_delete of a user: its primary key may be reused."""
    _invalidate_safely([instance.pk], using)


def membership_changed(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: set[Any] | None,
    using: str | None = None,
    **kwargs: Any,
) -> None:
    """m2m_changed of ``User.groups``, from the user's side or the group's."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        _invalidate_safely([instance.pk], using)  # user.groups.add/remove/clear
    elif pk_set is not None:
        _invalidate_safely(pk_set, using)  # group.user_set.add/remove
    else:
        _invalidate_safely(None, using)  # group.user_set.clear(): members unknown now


def groups_relation(user_model: Any) -> Any:
    """The user model's ``groups`` many-to-many field, or None (a custom user without it)."""
    try:
        field = user_model._meta.get_field("groups")
    except Exception:
        return None
    return field if getattr(field, "many_to_many", False) else None


def connect_receivers() -> None:
    """Connect the invalidation receivers; called from ``AppConfig.ready``."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models.signals import m2m_changed, post_delete, post_save

    post_save.connect(group_changed, sender=Group, dispatch_uid=DISPATCH_UID)
    post_delete.connect(group_changed, sender=Group, dispatch_uid=DISPATCH_UID)
    user_model = get_user_model()
    post_delete.connect(user_deleted, sender=user_model, dispatch_uid=DISPATCH_UID)
    relation = groups_relation(user_model)
    if relation is not None:
        m2m_changed.connect(
            membership_changed,
            sender=relation.remote_field.through,
            dispatch_uid=DISPATCH_UID,
        )
