"""The catalogue cache: versioned entries, so a read that raced an update can never stay stale.

A reader takes the versions before it reads the database and stores its value tagged with them;
a writer bumps the versions after its transaction commits. A value is served only while its tag
equals the current versions, so whatever a slow reader stores after an update is never served.
A hit costs one round trip: the versions and the entry come back in the same MGET.

With Redis as the cache, a first tier in each process's memory (`local_cache.LocalTier`) sits in
front and answers hits with no round trip at all; writers announce their bumps on a pub/sub
channel that every reading process listens to.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django_redis import get_redis_connection
from prometheus_client import Counter, Gauge
from redis import RedisError

from apps.product.local_cache import BUMP_AND_PUBLISH, MISSING, LocalTier
from apps.product.models import DB

log = logging.getLogger(__name__)

LOOKUPS = Counter(
    "catalogue_cache_lookups_total",
    "Catalogue cache lookups, by tier (local: this process's memory; redis) and result.",
    ["tier", "result"],
)
_LOCAL_HIT, _LOCAL_MISS = LOOKUPS.labels("local", "hit"), LOOKUPS.labels("local", "miss")
_REDIS_HIT, _REDIS_MISS = LOOKUPS.labels("redis", "hit"), LOOKUPS.labels("redis", "miss")
_LIVE_DOC = "1 while this process's catalogue memory tier is subscribed to invalidations, else 0."
_ENTRIES_DOC = "Entries in this process's catalogue memory tier."
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Forked web workers (gunicorn): each writes its own values, refreshed by its tier's listener
    # about once a second; a scrape sums the live workers.
    _LIVE = Gauge("catalogue_local_cache_live", _LIVE_DOC, multiprocess_mode="livesum")
    _ENTRIES = Gauge("catalogue_local_cache_entries", _ENTRIES_DOC, multiprocess_mode="livesum")
else:
    _LIVE = _ENTRIES = None
    Gauge("catalogue_local_cache_live", _LIVE_DOC).set_function(
        lambda: int(_tier is not None and _tier.live)
    )
    Gauge("catalogue_local_cache_entries", _ENTRIES_DOC).set_function(
        lambda: len(_tier) if _tier is not None else 0
    )


def _publish_gauges(tier: LocalTier) -> None:
    if tier is _tier:
        _LIVE.set(int(tier.live))
        _ENTRIES.set(len(tier))


CATALOGUE = "catalogue:v"  # every list (stock, prices, names, categories)
CATEGORIES = "categories:v"


def _product(product_id: int) -> str:
    return f"product:{product_id}:v"


def _fresh_version(key: str) -> int:
    # A fresh, never-used-before number: an evicted counter cannot revive old entries.
    cache.add(key, time.time_ns(), timeout=None)
    return cache.get(key) or 0


def _channel() -> str:
    """Where bumps are announced; under the cache's key prefix, so deployments never mix."""
    return cache.make_key("catalogue:invalidations")


def _uses_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


_tier: LocalTier | None = None
_tier_lock = threading.Lock()


def local_tier() -> LocalTier | None:
    """This process's first tier, or None where it is off (no Redis, or caching is off)."""
    global _tier
    if _tier is None:
        if not (
            settings.CATALOGUE_LOCAL_CACHE
            and settings.CATALOGUE_CACHE_TIMEOUT > 0
            and _uses_redis()
        ):
            return None
        with _tier_lock:
            if _tier is None:
                _tier = LocalTier(
                    settings.CACHES["default"]["LOCATION"],
                    _channel(),
                    timeout=min(settings.CATALOGUE_CACHE_TIMEOUT, settings.CATALOGUE_LOCAL_TIMEOUT),
                )
                if _LIVE is not None:
                    _tier.on_tick = _publish_gauges
    return _tier


@receiver(setting_changed)
def _settings_changed(setting: str, **kwargs) -> None:
    """A new cache or catalogue setting (tests override them) means a new tier."""
    global _tier
    if setting == "CACHES" or setting.startswith("CATALOGUE_"):
        with _tier_lock:
            old, _tier = _tier, None
        if old is not None:
            old.stop(wait=False)


def clear_local() -> None:
    if _tier is not None:
        _tier.clear()


def _bump(*keys: str) -> None:
    if not _uses_redis():
        for key in keys:
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, time.time_ns(), timeout=None)
        return
    tier = _tier
    try:
        _bump_in_redis(keys)
    except (RedisError, OSError) as error:  # a cache outage never fails the write behind it
        log.warning(
            "catalogue cache versions %s not bumped, retried until Redis answers: %s", keys, error
        )
        _missed_bumps(keys)
    if tier is not None:
        tier.invalidate(keys)  # this process reads its own writes, without waiting for the echo


def _bump_in_redis(keys: tuple[str, ...]) -> None:
    tier = _tier
    get_redis_connection("default").eval(
        BUMP_AND_PUBLISH,
        len(keys),
        *(cache.make_key(key) for key in keys),
        time.time_ns(),
        _channel(),
        LocalTier.message(keys, tier.origin if tier is not None else "-"),
    )


# Bumps that Redis missed, sent again once it answers. A Redis that restarts with its saved data
# would otherwise serve the entries of before the write until they expire.
BUMP_RETRY_SECONDS = 1.0
_missed: set[str] = set()
_missed_lock = threading.Lock()
_retry: threading.Timer | None = None


def _missed_bumps(keys) -> None:
    global _retry
    with _missed_lock:
        _missed.update(keys)
        if _retry is None:
            _retry = threading.Timer(BUMP_RETRY_SECONDS, _retry_missed_bumps)
            _retry.daemon = True
            _retry.start()


def _after_fork() -> None:
    # The timer thread stays in the parent; a child starts its own for what it inherited.
    global _retry, _missed_lock
    _retry, _missed_lock = None, threading.Lock()
    if _missed:
        _missed_bumps(())


os.register_at_fork(after_in_child=_after_fork)


def _retry_missed_bumps() -> None:
    global _retry
    with _missed_lock:
        keys = tuple(sorted(_missed))
        _missed.clear()
        _retry = None
    if not keys:
        return
    try:
        _bump_in_redis(keys)
    except (RedisError, OSError):
        _missed_bumps(keys)
    else:
        log.info("catalogue cache versions %s bumped after Redis came back", keys)


def cached(key: str, version_keys: tuple[str, ...], compute: Callable[[], Any]) -> Any:
    """The value under `key` if it was computed at the current versions, else `compute()`."""
    tier = local_tier()
    token = tier.token(version_keys) if tier is not None else None
    if token is not None:
        value = tier.get(key, token)
        if value is not MISSING:
            _LOCAL_HIT.inc()
            return value
        _LOCAL_MISS.inc()
    value = _shared(key, version_keys, compute)
    if token is not None and value is not None:
        tier.put(key, token, version_keys, value)
    return value


def _shared(key: str, version_keys: tuple[str, ...], compute: Callable[[], Any]) -> Any:
    entry_key = f"{key}:entry"
    found = cache.get_many([*version_keys, entry_key])
    versions = [found.get(k) or _fresh_version(k) for k in version_keys]
    entry = found.get(entry_key)
    if entry is not None and entry[0] == versions:
        _REDIS_HIT.inc()
        return entry[1]
    _REDIS_MISS.inc()
    value = compute()
    if value is not None:
        cache.set(entry_key, (versions, value), timeout=settings.CATALOGUE_CACHE_TIMEOUT)
    return value


def product_detail(product_id: int, compute: Callable[[], Any]) -> Any:
    return cached(f"product:{product_id}", (CATEGORIES, _product(product_id)), compute)


def product_list(params: str, compute: Callable[[], Any]) -> Any:
    return cached(f"products:{params}", (CATALOGUE,), compute)


def category_list(compute: Callable[[], Any]) -> Any:
    return cached("categories", (CATEGORIES,), compute)


def invalidate_products(*product_ids: int) -> None:
    """After the current product transaction commits, forget these products and every list."""
    keys = [_product(pid) for pid in product_ids]
    transaction.on_commit(lambda: _bump(CATALOGUE, *keys), using=DB)


def invalidate_categories() -> None:
    transaction.on_commit(lambda: _bump(CATALOGUE, CATEGORIES), using=DB)
