"""Reads of the catalogue.

Search: on PostgreSQL, full-text over the `search_vector` column (migration 0003: name weighted
A, description B, English stemming, a GIN index), every word of the query a prefix, all of them
required, plus the exact SKU (case-insensitive, an index on UPPER(sku)); `relevance` orders by
ts_rank. On SQLite (embedded mode) there is no tsvector: a substring of the name or the
description, or the exact SKU, and `relevance` is the name order.

Pages: by offset (`page`) with a count bounded at CATALOGUE_COUNT_LIMIT, or by cursor, a keyset
over (sort key, id) that costs the same at any depth. docs/database.md has the measurements.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence

from django.conf import settings
from django.db import connections, router
from django.db.models import Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from apps.product.models import Category, Product
from ecommerce.contracts.errors import InvalidRequest
from ecommerce.contracts.product.errors import ProductNotFound
from ecommerce.contracts.product.port import CURSOR_ORDERINGS, ORDERINGS, ProductQuery

_ORDER_BY = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "id": ("id",),
    "relevance": ("name", "id"),  # without a search, or without full-text search
}
# The keyset's sort key per ordering, its type in a cursor, and whether it descends.
_KEYSET = {
    "name": ("name", str, False),
    "-name": ("name", str, True),
    "price": ("price", int, False),
    "-price": ("price", int, True),
    "id": (None, None, False),
}
# The largest id a bigint column (PostgreSQL) or an INTEGER (SQLite) holds.
MAX_ID = 2**63 - 1
_WORD = re.compile(r"[^\W_]+")


def product_get(*, product_id: int) -> Product:
    try:
        return Product.objects.select_related("category").get(pk=product_id)
    except Product.DoesNotExist:
        raise ProductNotFound(
            f"Product {product_id} does not exist.", {"product_id": product_id}
        ) from None


def product_get_many(*, product_ids: Sequence[int]) -> list[Product]:
    found = Product.objects.select_related("category").in_bulk(list(product_ids))
    return [found[pid] for pid in product_ids if pid in found]


def product_filter(query: ProductQuery) -> QuerySet[Product]:
    if query.ordering not in ORDERINGS:
        raise InvalidRequest(
            f"Unknown ordering {query.ordering!r}.",
            {"ordering": [f"Choose one of: {', '.join(ORDERINGS)}."]},
        )
    qs = Product.objects.select_related("category")
    if query.active_only:
        qs = qs.filter(is_active=True)
    if query.category:
        key = query.category
        # str.isdigit() also accepts "²" and other non-ASCII digits, which int() refuses.
        by_id = key.isascii() and key.isdigit()
        # A slug becomes its id in a subquery PostgreSQL runs first, so the filter is an index
        # range on (category, sort key, id) rather than a join sorted afterwards.
        if by_id and int(key) > MAX_ID:
            # No row has an id past the column's range; SQLite would refuse to bind it.
            return qs.none()
        slug = Subquery(Category.objects.filter(slug=key).order_by().values("pk")[:1])
        qs = qs.filter(category_id=int(key) if by_id else slug)
    if query.search:
        return _search(qs, query.search, query.ordering)
    return qs.order_by(*_ORDER_BY[query.ordering])


def full_text_search() -> bool:
    """Whether the catalogue's database has the full-text column (PostgreSQL) or not (SQLite)."""
    return connections[router.db_for_read(Product)].vendor == "postgresql"


def _search(qs: QuerySet[Product], text: str, ordering: str) -> QuerySet[Product]:
    if not full_text_search():
        qs = qs.filter(
            Q(name__icontains=text) | Q(sku__iexact=text) | Q(description__icontains=text)
        )
        return qs.order_by(*_ORDER_BY[ordering])
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField

    words = _WORD.findall(text)
    match = Q(sku__iexact=text)
    if words:
        # Every word a prefix ("kett" finds "kettle"), every word required.
        tsquery = SearchQuery(
            " & ".join(f"{word}:*" for word in words), search_type="raw", config="english"
        )
        vector = RawSQL('"product_product"."search_vector"', [], output_field=SearchVectorField())
        qs = qs.alias(search_vector=vector)
        match |= Q(search_vector=tsquery)
        if ordering == "relevance":
            qs = qs.alias(rank=SearchRank(vector, tsquery))
            return qs.filter(match).order_by("-rank", "id")
    return qs.filter(match).order_by(*_ORDER_BY[ordering])


def _encode(direction: str, ordering: str, product: Product) -> str:
    field, _, _ = _KEYSET[ordering]
    key = [getattr(product, field), product.pk] if field else [product.pk]
    raw = json.dumps([direction, ordering, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, ordering: str) -> tuple[str, list]:
    """(direction, key) from a cursor made for this ordering; InvalidRequest otherwise."""
    bad = InvalidRequest("That cursor is not one this listing gave.", {"cursor": [cursor[:100]]})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, made_for, *key = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise bad from None
    if made_for != ordering or direction not in ("n", "p"):
        raise bad
    field, kind, _ = _KEYSET[ordering]
    types = (kind, int) if field else (int,)
    if len(key) != len(types) or not all(
        type(v) is t and (t is not int or 0 <= v < 2**63) for v, t in zip(key, types, strict=True)
    ):
        raise bad
    return direction, key


def _after(qs: QuerySet[Product], ordering: str, key: list, backwards: bool) -> QuerySet[Product]:
    """The rows past `key` in the ordering (before it, backwards), in the order they come.

    Written `k >= v AND (k > v OR id > i)`: the first half is a range of the index PostgreSQL
    can start from, the second drops the few rows that share the key's value.
    """
    field, _, descending = _KEYSET[ordering]
    up = descending == backwards  # walking towards larger keys
    gt, order = ("gt", "") if up else ("lt", "-")
    if field is None:
        return qs.filter(**{f"id__{gt}": key[0]}).order_by(f"{order}id")
    value, pk = key
    qs = qs.filter(**{f"{field}__{gt}e": value}).filter(
        Q(**{f"{field}__{gt}": value}) | Q(**{f"id__{gt}": pk})
    )
    return qs.order_by(f"{order}{field}", f"{order}id")


def product_page(
    query: ProductQuery,
) -> tuple[int, list[Product], str, str, bool]:
    """(count, items, next cursor, previous cursor, count capped).

    By offset: two queries, the count (bounded) and the page (category joined in), or the page
    alone when it is the last. By cursor: the page alone. A full-text search is two queries in
    both: its matches' ids (bounded), which are also its count, and the page. Each page reads one
    row more than it shows, to know whether another follows.
    """
    if query.ordering not in ORDERINGS:
        raise InvalidRequest(
            f"Unknown ordering {query.ordering!r}.",
            {"ordering": [f"Choose one of: {', '.join(ORDERINGS)}."]},
        )
    keyset = query.ordering in CURSOR_ORDERINGS
    if query.cursor and not keyset:
        raise InvalidRequest(
            f"Ordering {query.ordering!r} has no cursor pages; use page.",
            {"cursor": [f"Cursors page through: {', '.join(CURSOR_ORDERINGS)}."]},
        )
    qs = product_filter(query)
    bound = settings.CATALOGUE_COUNT_LIMIT
    known: int | None = None  # the exact count, when a search already told it
    if query.search and full_text_search():
        # The matches' ids first, as many as the count's bound, in no order: PostgreSQL reads
        # them from the GIN index. A few: the page is sorted from them alone, whatever the
        # ordering. More than the bound: the word is common, and walking the ordering's index
        # meets matches at once. Left to itself, PostgreSQL walks that index for a rare word
        # too, all the way to the end (docs/database.md, "Search").
        probe = list(qs.order_by().values_list("pk", flat=True)[: bound + 1])
        if len(probe) <= bound:
            known = len(probe)
            qs = qs.filter(pk__in=probe)
    limit = query.limit
    if query.cursor:
        direction, key = _decode(query.cursor, query.ordering)
        backwards = direction == "p"
        rows = list(_after(qs, query.ordering, key, backwards)[: limit + 1])
        more = len(rows) > limit
        items = rows[:limit]
        if backwards:
            items.reverse()
        has_next, has_previous = (True, more) if backwards else (more, True)
    else:
        rows = list(qs[query.offset : query.offset + limit + 1])
        items = rows[:limit]
        has_next, has_previous = len(rows) > limit, query.offset > 0 and bool(items)
    count, capped = 0, True
    if query.skip_count:
        pass
    elif known is not None:
        count, capped = known, False
    elif query.search and full_text_search():
        count = bound  # the probe found more
    elif not query.cursor and len(rows) <= limit and (items or query.offset == 0):
        count, capped = query.offset + len(items), False  # the last page: no count needed
    else:
        count = qs.order_by()[: bound + 1].count()
        count, capped = min(count, bound), count > bound
    next_cursor = previous_cursor = ""
    if keyset and items:
        if has_next:
            next_cursor = _encode("n", query.ordering, items[-1])
        if has_previous:
            previous_cursor = _encode("p", query.ordering, items[0])
    return count, items, next_cursor, previous_cursor, capped


def category_list() -> list[Category]:
    return list(Category.objects.order_by("name"))
