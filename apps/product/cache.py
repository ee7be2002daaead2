"""The catalogue cache: versioned keys, so a read that raced an update can never stay stale.

A reader takes the version before it reads the database; a writer bumps the version after its
transaction commits. Whatever a slow reader stores lands under a version nobody asks for again.
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


def _versions(*keys: str) -> list[int]:
    found = cache.get_many(keys)
    versions = []
    for key in keys:
        value = found.get(key)
        if value is None:
            # A fresh, never-used-before number: an evicted counter cannot revive old entries.
            cache.add(key, time.time_ns(), timeout=None)
            value = cache.get(key) or 0
        versions.append(value)
    return versions


def _bump(*keys: str) -> None:
    for key in keys:
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, time.time_ns(), timeout=None)


def cached(key: str, versions: list[int], compute: Callable[[], Any]) -> Any:
    full = f"{key}:{':'.join(str(v) for v in versions)}"
    value = cache.get(full)
    if value is None:
        value = compute()
        if value is not None:
            cache.set(full, value, timeout=settings.CATALOGUE_CACHE_TIMEOUT)
    return value


def product_detail(product_id: int, compute: Callable[[], Any]) -> Any:
    return cached(f"product:{product_id}", _versions(CATEGORIES, _product(product_id)), compute)


def product_list(params: str, compute: Callable[[], Any]) -> Any:
    return cached(f"products:{params}", _versions(CATALOGUE), compute)


def category_list(compute: Callable[[], Any]) -> Any:
    return cached("categories", _versions(CATEGORIES), compute)


def invalidate_products(*product_ids: int) -> None:
    """After the current product transaction commits, forget these products and every list."""
    keys = [_product(pid) for pid in product_ids]
    transaction.on_commit(lambda: _bump(CATALOGUE, *keys), using="product")


def invalidate_categories() -> None:
    transaction.on_commit(lambda: _bump(CATALOGUE, CATEGORIES), using="product")
