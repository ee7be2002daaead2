"""Writes to carts. Products are reached only through the product port."""

from __future__ import annotations

import json

from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from apps.cart.models import DB, Cart, CartItem, CartReservation, OutboxEvent
from ecommerce.contracts.cart.errors import CartEmpty, CartItemNotFound, CartLocked
from ecommerce.contracts.cart.events import CartItemAdded, CartItemRemoved
from ecommerce.contracts.cart.port import MAX_LINE_QUANTITY
from ecommerce.contracts.errors import Conflict, InvalidRequest, NotFound
from ecommerce.contracts.keys import key_check
from ecommerce.contracts.product.errors import OutOfStock, ProductNotFound, ProductUnavailable
from ecommerce.transports.outbox import emit, outbox_row
from ecommerce.wiring import resolver
from ecommerce.wiring.sql import insert_sql, update_sql, write_together


def _emit(event: CartItemAdded | CartItemRemoved) -> None:
    emit(OutboxEvent, event, using=DB)


def _check_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidRequest("Quantity must be an integer.", {"quantity": ["Not an integer."]})
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidRequest(
            f"Quantity must be between 1 and {MAX_LINE_QUANTITY}.",
            {"quantity": [f"Must be between 1 and {MAX_LINE_QUANTITY}."]},
        )


def _locked_cart(user_id: int) -> Cart:
    """The user's cart, row-locked for this transaction; refuses while a checkout holds it."""
    cart = Cart.objects.select_for_update().filter(user_id=user_id).first()
    if cart is None:
        Cart.objects.get_or_create(user_id=user_id)
        cart = Cart.objects.select_for_update().get(user_id=user_id)
    if cart.reservation_key:
        raise CartLocked("A checkout is in progress for this cart.")
    return cart


def cart_add_item(*, user_id: int, product_id: int, quantity: int) -> tuple[Cart, list[CartItem]]:
    """Add to the product's line (a new one if none). Returns the cart and its lines as they
    now are, in the order the cart lists them."""
    _check_quantity(quantity)
    product = resolver.product().get(product_id)  # outside the transaction: may be remote
    if not product.is_active:
        raise ProductUnavailable(
            f"Product {product_id} is not for sale.", {"product_id": product_id}
        )
    with transaction.atomic(using=DB):
        cart = _locked_cart(user_id)
        # Every write to a cart's lines holds the cart's lock: these rows stay as read.
        items = list(cart.items.all())
        item = next((i for i in items if i.product_id == product_id), None)
        new_quantity = quantity + (item.quantity if item else 0)
        if new_quantity > MAX_LINE_QUANTITY:
            raise InvalidRequest(
                f"A line holds at most {MAX_LINE_QUANTITY} units.",
                {"quantity": [f"The line would hold {new_quantity}."]},
            )
        if new_quantity > product.stock:
            raise OutOfStock(
                f"Only {product.stock} of product {product_id} left.",
                {"product_id": product_id, "requested": new_quantity, "available": product.stock},
            )
        others = {i.currency for i in items if i.product_id != product_id}
        if others and product.currency not in others:
            raise InvalidRequest(
                "A cart holds one currency.",
                {
                    "currency": [
                        f"The cart is in {others.pop()}, the product in {product.currency}."
                    ]
                },
            )
        line = {
            "sku": product.sku,
            "name": product.name,
            "quantity": new_quantity,
            "unit_price": product.price,
            "currency": product.currency,
        }
        if item is None:
            item = CartItem(cart=cart, product_id=product_id, **line)
            line_write = insert_sql(item, using=DB)
            items.append(item)
        else:
            for name, value in line.items():
                setattr(item, name, value)
            line_write = update_sql(CartItem, item.pk, using=DB, **line)
        cart.currency = product.currency
        cart.updated_at = timezone.now()
        event = CartItemAdded(
            user_id=user_id,
            product_id=product_id,
            quantity=quantity,
            line_quantity=new_quantity,
            unit_price=product.price,
            currency=product.currency,
        )
        # The line, the cart and the event in one round trip (the lock above keeps them ours).
        write_together(
            line_write,
            update_sql(Cart, cart.pk, using=DB, currency=cart.currency, updated_at=cart.updated_at),
            insert_sql(outbox_row(OutboxEvent, event), using=DB),
            using=DB,
        )
        return cart, items


def cart_set_quantity(
    *, user_id: int, product_id: int, quantity: int
) -> tuple[Cart, list[CartItem]]:
    """Set the product's line to `quantity`. Returns the cart and its lines, as add does."""
    _check_quantity(quantity)
    try:
        product = resolver.product().get(product_id)  # outside the transaction: may be remote
    except ProductNotFound:
        product = None
    with transaction.atomic(using=DB):
        cart = _locked_cart(user_id)
        items = list(cart.items.all())
        item = _line(items, product_id)
        change = quantity - item.quantity
        if quantity > item.quantity:
            # Growing a line is adding to the cart: the same rules apply. Shrinking is always
            # allowed, even for a product no longer on sale.
            if product is None or not product.is_active:
                raise ProductUnavailable(
                    f"Product {product_id} is not for sale.", {"product_id": product_id}
                )
            if quantity > product.stock:
                raise OutOfStock(
                    f"Only {product.stock} of product {product_id} left.",
                    {"product_id": product_id, "requested": quantity, "available": product.stock},
                )
        item.quantity = quantity
        item.save(update_fields=["quantity"])
        if change:
            # A quantity set is an addition or a removal of units, told as one or the other.
            _emit(
                (CartItemAdded if change > 0 else CartItemRemoved)(
                    user_id=user_id,
                    product_id=product_id,
                    quantity=abs(change),
                    line_quantity=quantity,
                )
            )
        return cart, items


def cart_remove_item(*, user_id: int, product_id: int) -> tuple[Cart, list[CartItem]]:
    """Drop the product's line. Returns the cart and its remaining lines, as add does."""
    with transaction.atomic(using=DB):
        cart = _locked_cart(user_id)
        items = list(cart.items.all())
        item = _line(items, product_id)
        items.remove(item)
        item.delete()
        _emit(
            CartItemRemoved(
                user_id=user_id,
                product_id=product_id,
                quantity=item.quantity,
                line_quantity=0,
            )
        )
        return cart, items


def _line(items: list[CartItem], product_id: int) -> CartItem:
    item = next((i for i in items if i.product_id == product_id), None)
    if item is None:
        raise CartItemNotFound(
            f"Product {product_id} is not in the cart.", {"product_id": product_id}
        )
    return item


def _snapshot(cart: Cart) -> list[dict]:
    return [
        {
            "product_id": item.product_id,
            "sku": item.sku,
            "name": item.name,
            "quantity": item.quantity,
            "unit_price": item.unit_price,
            "currency": item.currency,
        }
        for item in cart.items.order_by("product_id")
    ]


def cart_reserve(*, user_id: int, reservation_key: str) -> CartReservation:
    """Lock the cart for one checkout and snapshot its lines. Idempotent per key."""
    key_check(reservation_key, name="reservation_key")
    try:
        with transaction.atomic(using=DB):
            cart = Cart.objects.select_for_update().filter(user_id=user_id).first()
            if cart is not None and cart.reservation_key == reservation_key:
                # A repeated command: the reservation is made and still holds the cart.
                return CartReservation.objects.get(reservation_key=reservation_key)
            items = _snapshot(cart) if cart is not None and not cart.reservation_key else []
            if not items:
                # The key may have been used already (committed, released or a tombstone).
                existing = CartReservation.objects.filter(reservation_key=reservation_key).first()
                if existing is not None:
                    return existing
                if cart is not None and cart.reservation_key:
                    raise CartLocked("Another checkout holds this cart.")
                raise CartEmpty("The cart is empty.")
            reservation = CartReservation(
                reservation_key=reservation_key,
                user_id=user_id,
                status=CartReservation.Status.RESERVED,
                items=items,
                currency=cart.currency,
            )
            cart.reservation_key = reservation_key
            cart.updated_at = timezone.now()
            # The reservation and the cart's lock in one round trip; a used key still raises
            # IntegrityError, the statement as a whole refused.
            write_together(
                insert_sql(reservation, using=DB),
                update_sql(
                    Cart,
                    cart.pk,
                    using=DB,
                    reservation_key=reservation_key,
                    updated_at=cart.updated_at,
                ),
                using=DB,
            )
            return reservation
    except IntegrityError:
        # The key was used before, its lines since gone or back in the cart: that is the answer.
        return CartReservation.objects.get(reservation_key=reservation_key)


def cart_release(*, reservation_key: str, user_id: int) -> CartReservation:
    """Unlock the cart, lines intact. An unknown key leaves a RELEASED tombstone."""
    key_check(reservation_key, name="reservation_key")
    with transaction.atomic(using=DB):
        reservation, created = CartReservation.objects.select_for_update().get_or_create(
            reservation_key=reservation_key,
            defaults={"user_id": user_id, "status": CartReservation.Status.RELEASED},
        )
        if created or reservation.status == CartReservation.Status.RELEASED:
            return reservation
        if reservation.status == CartReservation.Status.COMMITTED:
            raise Conflict(f"Reservation {reservation_key} is committed; it cannot be released.")
        Cart.objects.filter(user_id=reservation.user_id, reservation_key=reservation_key).update(
            reservation_key=""
        )
        reservation.status = CartReservation.Status.RELEASED
        reservation.save(update_fields=["status", "updated_at"])
        return reservation


# A RESERVED reservation committed, its lines taken out of the cart and the cart unlocked, in
# one statement (PostgreSQL): it saves the BEGIN, the two locking SELECTs, two of the three
# writes' round trips and the COMMIT. Each data-modifying part locks the row it changes, and
# nobody changes a reserved cart's lines, so the statement's snapshot holds them as they are.
_COMMIT_RESERVED = f"""
    WITH reservation AS (
        UPDATE {CartReservation._meta.db_table} SET status = %(committed)s, updated_at = %(now)s
        WHERE reservation_key = %(key)s AND status = %(reserved)s
        RETURNING id, user_id, status, items, currency, created_at, updated_at
    ),
    cart AS (
        SELECT id FROM {Cart._meta.db_table}
        WHERE user_id = (SELECT user_id FROM reservation)
    ),
    unlocked AS (
        UPDATE {Cart._meta.db_table} SET reservation_key = '', updated_at = %(now)s
        WHERE id = (SELECT id FROM cart) AND reservation_key = %(key)s
    ),
    sold AS (
        DELETE FROM {CartItem._meta.db_table}
        WHERE cart_id = (SELECT id FROM cart) AND product_id IN (
            SELECT (line ->> 'product_id')::bigint
            FROM reservation, jsonb_array_elements(reservation.items) AS line
        )
    )
    SELECT id, user_id, status, items, currency, created_at, updated_at FROM reservation
"""


def _commit_reserved(reservation_key: str) -> CartReservation | None:
    """The reservation, committed now, if it was RESERVED; None otherwise (or not PostgreSQL)."""
    connection = connections[DB]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            _COMMIT_RESERVED,
            {
                "committed": CartReservation.Status.COMMITTED,
                "reserved": CartReservation.Status.RESERVED,
                "key": reservation_key,
                "now": timezone.now(),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    items = row[3]
    return CartReservation(
        pk=row[0],
        reservation_key=reservation_key,
        user_id=row[1],
        status=row[2],
        items=json.loads(items) if isinstance(items, str) else items,
        currency=row[4],
        created_at=row[5],
        updated_at=row[6],
    )


def cart_commit(*, reservation_key: str) -> CartReservation:
    """The checkout succeeded: the reserved lines leave the cart, which unlocks."""
    key_check(reservation_key, name="reservation_key")
    committed = _commit_reserved(reservation_key)
    if committed is not None:
        return committed
    with transaction.atomic(using=DB):
        reservation = (
            CartReservation.objects.select_for_update()
            .filter(reservation_key=reservation_key)
            .first()
        )
        if reservation is None:
            raise NotFound(
                f"No reservation {reservation_key}.", {"reservation_key": reservation_key}
            )
        if reservation.status == CartReservation.Status.RELEASED:
            raise Conflict(f"Reservation {reservation_key} was released; it cannot be committed.")
        if reservation.status == CartReservation.Status.RESERVED:
            cart = Cart.objects.select_for_update().get(user_id=reservation.user_id)
            cart.items.filter(product_id__in=[i["product_id"] for i in reservation.items]).delete()
            if cart.reservation_key == reservation_key:
                cart.reservation_key = ""
                cart.save(update_fields=["reservation_key", "updated_at"])
            reservation.status = CartReservation.Status.COMMITTED
            reservation.save(update_fields=["status", "updated_at"])
        return reservation
