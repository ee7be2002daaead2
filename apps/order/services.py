"""Writes to orders: checkout creates the order and its saga; the saga does the rest."""

from __future__ import annotations

import logging
import re

from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError as BrokerUnreachable

from apps.order import events, metrics
from apps.order.models import DB, CheckoutSaga, Order, OrderLine
from ecommerce.contracts.cart.errors import CartEmpty, CartLocked
from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.keys import key_check
from ecommerce.contracts.order.commands import SagaAdvance
from ecommerce.observability import tracing
from ecommerce.transports.messaging import send
from ecommerce.wiring import resolver
from ecommerce.wiring.failpoints import failpoint

logger = logging.getLogger(__name__)

PAYMENT_METHOD = re.compile(r"^[A-Za-z0-9_]{1,100}\Z")


def _start_saga(order_id: int) -> None:
    try:
        failpoint("order.start_saga", error=BrokerUnreachable)
        send(SagaAdvance(order_id=order_id))
    except Exception:  # the broker is down: the order is safe, the sweep starts its saga
        logger.exception("could not start the saga of order %s; the sweep will", order_id)


def order_checkout(
    *, user_id: int, idempotency_key: str, payment_method: str
) -> tuple[Order, list[OrderLine] | None, bool]:
    """A PENDING order and its saga, started once the order is committed.

    The same key from the same user is the same order; with another payment method it is a
    conflict, not a second order. Returns the order, the lines written for it (None when the
    order is a replay: nothing was written) and whether it was created.
    """
    key_check(idempotency_key, name="idempotency_key")
    if not PAYMENT_METHOD.match(payment_method or ""):
        raise InvalidRequest("Unknown payment method.", {"payment_method": ["Invalid."]})
    existing = Order.objects.filter(user_id=user_id, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, payment_method), None, False
    cart = resolver.cart().get(user_id=user_id)
    if not cart.items:
        raise CartEmpty("The cart is empty.")
    if cart.reserved:
        raise CartLocked("A checkout is already in progress for this cart.")
    try:
        with transaction.atomic(using=DB):
            order = Order.objects.create(
                user_id=user_id,
                idempotency_key=idempotency_key,
                payment_method=payment_method,
                total=cart.total,
                currency=cart.currency,
                trace_id=(tracing.current_ids() or ("",))[0],
            )
            lines = OrderLine.objects.bulk_create(OrderLine.of(order, line) for line in cart.items)
            CheckoutSaga.objects.create(order=order, step="reserve_cart")
            events.order_created(order, lines)
            transaction.on_commit(lambda: _start_saga(order.pk), using=DB)
            metrics.saga_started()
    except IntegrityError:
        # The same key raced in from another request and won: its order is the answer.
        existing = Order.objects.get(user_id=user_id, idempotency_key=idempotency_key)
        return _replayed(existing, payment_method), None, False
    return order, lines, True


def _replayed(order: Order, payment_method: str) -> Order:
    if order.payment_method != payment_method:
        raise IdempotencyConflict(
            "This Idempotency-Key was used for a checkout with another payment method.",
            {"order_id": order.pk},
        )
    return order
