"""The cart's command handlers: reserve and release items for a checkout, then reply."""

from __future__ import annotations

from celery import shared_task

from ecommerce import resolver
from ecommerce.contracts.cart.commands import CART_RELEASE_ITEMS, CART_RESERVE_ITEMS
from ecommerce.contracts.errors import Conflict, DomainError, InvalidRequest, ServiceUnavailable
from ecommerce.contracts.order.commands import ORDER_QUEUE, SAGA_REPLY
from ecommerce.failpoints import failpoint
from ecommerce.messaging import CommandTask, require_id, send_command


def _key(value) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        raise InvalidRequest(f"malformed command: reservation_key {value!r}")
    return value


def _reply(
    order_id: int, step: str, *, ok: bool, result: dict | None = None, error: str = ""
) -> None:
    send_command(
        SAGA_REPLY,
        ORDER_QUEUE,
        order_id=order_id,
        step=step,
        ok=ok,
        result=result or {},
        error=error,
    )


@shared_task(name=CART_RESERVE_ITEMS, base=CommandTask)
def reserve_items(*, order_id: int, user_id: int, reservation_key: str) -> None:
    failpoint(f"task.{CART_RESERVE_ITEMS}")
    order_id, user_id = require_id(order_id, "order_id"), require_id(user_id, "user_id")
    try:
        reservation = resolver.cart().reserve(
            user_id=user_id, reservation_key=_key(reservation_key)
        )
    except (InvalidRequest, ServiceUnavailable):
        raise  # a malformed command is dead-lettered; an outage is retried
    except DomainError as exc:
        _reply(order_id, "reserve_cart", ok=False, error=exc.code)
        return
    if reservation.status != "RESERVED":
        # The saga already gave this checkout up (a release tombstone): nothing is locked.
        _reply(order_id, "reserve_cart", ok=False, error="cancelled")
        return
    _reply(
        order_id,
        "reserve_cart",
        ok=True,
        result={
            "currency": reservation.currency,
            "items": [
                {
                    "product_id": line.product_id,
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                }
                for line in reservation.items
            ],
        },
    )


@shared_task(name=CART_RELEASE_ITEMS, base=CommandTask)
def release_items(*, order_id: int, user_id: int, reservation_key: str) -> None:
    failpoint(f"task.{CART_RELEASE_ITEMS}")
    order_id, user_id = require_id(order_id, "order_id"), require_id(user_id, "user_id")
    try:
        reservation = resolver.cart().release(
            reservation_key=_key(reservation_key), user_id=user_id
        )
    except (InvalidRequest, ServiceUnavailable):
        raise
    except Conflict:
        # Committed: the checkout's lines already left the cart; there is nothing to give back.
        _reply(order_id, "release_cart", ok=True, result={"status": "COMMITTED"})
        return
    except DomainError as exc:
        _reply(order_id, "release_cart", ok=False, error=exc.code)
        return
    _reply(order_id, "release_cart", ok=True, result={"status": reservation.status})
