"""The catalogue cache: versioned entries, so a read that raced an update can never stay stale.

A reader takes the versions before it reads the database and stores its value tagged with them;
a writer bumps the versions after its transaction commits. A value is served only while its tag
equals the current versions, so whatever a slow reader stores after an update is never served.
A hit costs one round trip: the versions and the entry come back in the same MGET.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

CATALOGUE = "catalogue:v"  # every list (stock, prices, names, categories)
CATEGORIES = "categories:v"


def _product(product_id: int) -> str:
    return f"product:{product_id}:v"


def _fresh_version(key: str) -> int:
    # A fresh, never-used-before number: an evicted counter cannot revive old entries.
    cache.add(key, time.time_ns(), timeout=None)
    return cache.get(key) or 0


def _bump(*keys: str) -> None:
    for key in keys:
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, time.time_ns(), timeout=None)


def cached(key: str, version_keys: tuple[str, ...], compute: Callable[[], Any]) -> Any:
    """The value under `key` if it was computed at the current versions, else `compute()`."""
    entry_key = f"{key}:entry"
    found = cache.get_many([*version_keys, entry_key])
    versions = [found.get(k) or _fresh_version(k) for k in version_keys]
    entry = found.get(entry_key)
    if entry is not None and entry[0] == versions:
        return entry[1]
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
    transaction.on_commit(lambda: _bump(CATALOGUE, *keys), using="product")


def invalidate_categories() -> None:
    transaction.on_commit(lambda: _bump(CATALOGUE, CATEGORIES), using="product")
