"""Writes to the catalogue: products, and the stock holds that keep stock from being sold twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone

from apps.product import cache, money
from apps.product.models import DB, Category, OutboxEvent, Product, StockHold, StockHoldLine
from ecommerce.contracts.errors import Conflict, InvalidRequest, NotFound
from ecommerce.contracts.keys import key_check
from ecommerce.contracts.product.errors import OutOfStock, ProductUnavailable
from ecommerce.contracts.product.events import ProductCreated, ProductUpdated, StockChanged
from ecommerce.contracts.product.port import StockLine
from ecommerce.transports.outbox import emit, outbox_row
from ecommerce.wiring.sql import insert_sql, write_together


def _emit_product(event: type[ProductCreated | ProductUpdated], product: Product) -> None:
    emit(
        OutboxEvent,
        event(
            product_id=product.pk,
            sku=product.sku,
            name=product.name,
            price=product.price,
            currency=product.currency,
            stock=product.stock,
            is_active=product.is_active,
        ),
        using=DB,
    )


def _emit_stock_changed(*, product_id: int, delta: int, reason: str, hold_key: str = "") -> None:
    emit(
        OutboxEvent,
        StockChanged(product_id=product_id, delta=delta, reason=reason, hold_key=hold_key),
        using=DB,
    )


def _known_currency(currency: str) -> str:
    try:
        money.exponent(currency)
    except money.UnknownCurrency as exc:
        raise InvalidRequest(str(exc)) from exc
    return currency.upper()


@transaction.atomic(using=DB)
def product_create(
    *,
    sku: str,
    name: str,
    price: int,
    currency: str = "USD",
    stock: int = 0,
    description: str = "",
    category: Category | None = None,
    is_active: bool = True,
) -> Product:
    if price < 0 or stock < 0:
        raise InvalidRequest("Price and stock cannot be negative.")
    _known_currency(currency)
    product = Product.objects.create(
        sku=sku,
        name=name,
        price=price,
        currency=currency.upper(),
        stock=stock,
        description=description,
        category=category,
        is_active=is_active,
    )
    _emit_product(ProductCreated, product)
    return product


def category_ensure(*, name: str, slug: str) -> Category:
    """The category with this slug, created with `name` if there is none."""
    return Category.objects.get_or_create(slug=slug, defaults={"name": name})[0]


def product_seed(*, sku: str, **fields) -> Product | None:
    """Create the product unless one already has this SKU (a seed run again): None then."""
    if Product.objects.filter(sku=sku).exists():
        return None
    return product_create(sku=sku, **fields)


@transaction.atomic(using=DB)
def product_update(*, product: Product, **fields) -> Product:
    allowed = {"name", "description", "price", "currency", "category", "is_active", "stock"}
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidRequest(f"Cannot update {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(product, name, value)
    product.full_clean()
    if "currency" in fields:
        product.currency = _known_currency(product.currency)
    return product_save(product=product)


@transaction.atomic(using=DB)
def product_save(*, product: Product) -> Product:
    """Save a product built or edited elsewhere (the admin's forms), with its events."""
    before = (
        Product.objects.select_for_update().filter(pk=product.pk).values("stock").first()
        if product.pk
        else None
    )
    product.save()
    _emit_product(ProductCreated if before is None else ProductUpdated, product)
    if before is not None and product.stock != before["stock"]:
        _emit_stock_changed(
            product_id=product.pk, delta=product.stock - before["stock"], reason="adjusted"
        )
    return product


@transaction.atomic(using=DB)
def products_set_active(*, product_ids: Iterable[int], is_active: bool) -> int:
    """Bulk activate or deactivate (the admin's actions)."""
    ids = list(product_ids)
    changing = list(
        Product.objects.select_for_update().filter(pk__in=ids).exclude(is_active=is_active)
    )
    changed = Product.objects.filter(pk__in=ids).update(is_active=is_active)
    for product in changing:
        product.is_active = is_active
        _emit_product(ProductUpdated, product)
    cache.invalidate_products(*ids)
    return changed


def _merged(lines: Sequence[StockLine]) -> dict[int, int]:
    merged: Counter[int] = Counter()
    for line in lines:
        if line.quantity <= 0:
            raise InvalidRequest("Quantities must be positive.", {"product_id": line.product_id})
        merged[line.product_id] += line.quantity
    if not merged:
        raise InvalidRequest("A stock hold needs at least one line.")
    return dict(merged)


def _why_not(product_id: int, requested: int) -> Exception:
    product = Product.objects.filter(pk=product_id).values("is_active", "stock").first()
    if product is None or not product["is_active"]:
        return ProductUnavailable(
            f"Product {product_id} is not for sale.", {"product_id": product_id}
        )
    return OutOfStock(
        f"Only {product['stock']} of product {product_id} left.",
        {"product_id": product_id, "requested": requested, "available": product["stock"]},
    )


def hold_lines(hold: StockHold) -> list[tuple[int, int]]:
    """A hold's (product id, quantity) pairs by product: as written or read by the service that
    returned the hold (`StockHold.known_lines`), else from the database."""
    known = getattr(hold, "known_lines", None)
    if known is None:
        known = list(hold.lines.values_list("product_id", "quantity"))
    return sorted(known)


def stock_hold(*, hold_key: str, lines: Sequence[StockLine]) -> StockHold:
    """Take stock for every line or none, with one conditional UPDATE per product.

    `stock >= n` in the UPDATE's WHERE is the check and the hold at once: two checkouts racing
    for the last unit cannot both pass it. Products are updated in id order so concurrent holds
    lock rows in the same order and cannot deadlock.
    """
    key_check(hold_key, name="hold_key")
    wanted = _merged(lines)
    try:
        with transaction.atomic(using=DB):
            hold = StockHold.objects.create(hold_key=hold_key)
            for product_id in sorted(wanted):
                quantity = wanted[product_id]
                taken = Product.objects.filter(
                    pk=product_id, is_active=True, stock__gte=quantity
                ).update(stock=F("stock") - quantity)
                if not taken:
                    raise _why_not(product_id, quantity)
            # The hold's lines and its events in one round trip, whatever their number.
            write_together(
                *(
                    insert_sql(StockHoldLine(hold=hold, product_id=pid, quantity=q), using=DB)
                    for pid, q in sorted(wanted.items())
                ),
                *(
                    insert_sql(
                        outbox_row(
                            OutboxEvent,
                            StockChanged(
                                product_id=pid, delta=-q, reason="held", hold_key=hold_key
                            ),
                        ),
                        using=DB,
                    )
                    for pid, q in sorted(wanted.items())
                ),
                using=DB,
            )
            cache.invalidate_products(*wanted)
    except IntegrityError:
        # The key was held before (a repeated or concurrent command): that hold is the answer.
        return StockHold.objects.get(hold_key=hold_key)
    hold.known_lines = list(wanted.items())
    return hold


def stock_release(*, hold_key: str) -> StockHold:
    key_check(hold_key, name="hold_key")
    with transaction.atomic(using=DB):
        hold, created = StockHold.objects.select_for_update().get_or_create(
            hold_key=hold_key, defaults={"status": StockHold.Status.RELEASED}
        )
        if created or hold.status == StockHold.Status.RELEASED:
            return hold
        if hold.status == StockHold.Status.CONFIRMED:
            raise Conflict(f"Stock hold {hold_key} is confirmed; it cannot be released.")
        lines = list(hold.lines.order_by("product_id").values_list("product_id", "quantity"))
        for product_id, quantity in lines:
            Product.objects.filter(pk=product_id).update(stock=F("stock") + quantity)
            _emit_stock_changed(
                product_id=product_id, delta=quantity, reason="released", hold_key=hold_key
            )
        hold.status = StockHold.Status.RELEASED
        hold.save(update_fields=["status", "updated_at"])
        cache.invalidate_products(*(pid for pid, _ in lines))
        return hold


# A HELD hold confirmed and its lines read back in one statement (PostgreSQL): it saves the
# SELECT of the hold and the SELECT of its lines that follow the conditional UPDATE.
_CONFIRM_HELD = f"""
    WITH hold AS (
        UPDATE {StockHold._meta.db_table} SET status = %s, updated_at = %s
        WHERE hold_key = %s AND status = %s
        RETURNING id, created_at, updated_at
    )
    SELECT hold.id, hold.created_at, hold.updated_at, line.product_id, line.quantity
    FROM hold JOIN {StockHoldLine._meta.db_table} line ON line.hold_id = hold.id
"""


def _confirm_held(hold_key: str) -> StockHold | None:
    """The hold, confirmed now, if it was HELD; None if it was in any other state (or none)."""
    connection = connections[DB]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            _CONFIRM_HELD,
            [StockHold.Status.CONFIRMED, timezone.now(), hold_key, StockHold.Status.HELD],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    hold_id, created_at, updated_at = rows[0][:3]
    hold = StockHold(
        pk=hold_id,
        hold_key=hold_key,
        status=StockHold.Status.CONFIRMED,
        created_at=created_at,
        updated_at=updated_at,
    )
    hold.known_lines = [(row[3], row[4]) for row in rows]
    return hold


def stock_confirm(*, hold_key: str) -> StockHold:
    key_check(hold_key, name="hold_key")
    confirmed = _confirm_held(hold_key)
    if confirmed is not None:
        return confirmed
    # A held hold is confirmed by one conditional UPDATE; any other state is read and judged.
    StockHold.objects.filter(hold_key=hold_key, status=StockHold.Status.HELD).update(
        status=StockHold.Status.CONFIRMED, updated_at=timezone.now()
    )
    hold = StockHold.objects.filter(hold_key=hold_key).first()
    if hold is None:
        raise NotFound(f"No stock hold {hold_key}.", {"hold_key": hold_key})
    if hold.status == StockHold.Status.RELEASED:
        raise Conflict(f"Stock hold {hold_key} was released; it cannot be confirmed.")
    return hold
