"""Writes to orders: checkout creates the order and its saga; the saga does the rest."""

from __future__ import annotations

import logging
import re
from contextlib import nullcontext

from django.db import IntegrityError, connections, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from apps.order import events, metrics
from apps.order.models import DB, CheckoutSaga, Order, OrderLine, OutboxEvent, line_values
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
    cart = resolver.cart().get(user_id=user_id)
    if not cart.items or cart.reserved:
        # A replay is answered even when its cart has since been emptied or locked (by its own
        # checkout): look for it only then; otherwise the unique key finds it (IntegrityError).
        existing = Order.objects.filter(user_id=user_id, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replayed(existing, payment_method), None, False
        if not cart.items:
            raise CartEmpty("The cart is empty.")
        raise CartLocked("A checkout is already in progress for this cart.")
    order = Order(
        user_id=user_id,
        idempotency_key=idempotency_key,
        payment_method=payment_method,
        total=cart.total,
        currency=cart.currency,
        trace_id=(tracing.current_ids() or ("",))[0],
        created_at=timezone.now(),
    )
    order.updated_at = order.created_at
    lines = [OrderLine(**line_values(line)) for line in cart.items]
    connection = connections[DB]
    one_statement = connection.vendor == "postgresql"
    try:
        # One statement commits on its own; inside a caller's transaction a savepoint keeps
        # that transaction usable should the key be taken.
        with (
            nullcontext()
            if one_statement and not connection.in_atomic_block
            else transaction.atomic(using=DB)
        ):
            if one_statement:
                _place(order, lines)
            else:
                order.save(force_insert=True)
                for line in lines:
                    line.order = order
                OrderLine.objects.bulk_create(lines)
                CheckoutSaga.objects.create(order=order, step="reserve_cart")
                events.order_created(order, lines)
            transaction.on_commit(lambda: _start_saga(order.pk), using=DB)
            metrics.saga_started()
    except IntegrityError:
        # The key was used before, or raced in from another request and won: its order is the
        # answer.
        existing = Order.objects.get(user_id=user_id, idempotency_key=idempotency_key)
        return _replayed(existing, payment_method), None, False
    return order, lines, True


def _columns(model, names: list[str]) -> str:
    return ", ".join(model._meta.get_field(name).column for name in names)


def _values(model, instance, names: list[str]) -> list:
    connection = connections[DB]
    return [
        model._meta.get_field(name).get_db_prep_save(getattr(instance, name), connection)
        for name in names
    ]


_ORDER = [
    "user_id", "idempotency_key", "status", "failure_reason", "total", "currency",
    "payment_method", "trace_id", "created_at", "updated_at",
]  # fmt: skip
_LINE = list(OrderLine.FIELDS)
_SAGA = ["state", "step", "failure_reason", "created_at", "updated_at"]
_EVENT = ["event_id", "event_type", "aggregate_type", "occurred_at", "schema_version"]


def _place(order: Order, lines: list[OrderLine]) -> None:
    """The order, its lines, its saga and its order.created event in one statement
    (PostgreSQL): it saves three INSERTs' round trips. The event's order id (in its payload
    and as its aggregate id) is the new order's, set inside the statement. Sets the keys."""
    # Bound to the order, so the answer built from the order does not read the saga again.
    saga = CheckoutSaga(order=order, step="reserve_cart", created_at=order.created_at)
    saga.updated_at = order.created_at
    event = events.order_created_row(order, lines)
    marks = lambda count: ", ".join(["%s"] * count)  # noqa: E731
    line_rows = ", ".join([f"({marks(len(_LINE))})"] * len(lines))
    sql = f"""
        WITH placed AS (
            INSERT INTO {Order._meta.db_table} ({_columns(Order, _ORDER)})
            VALUES ({marks(len(_ORDER))}) RETURNING id
        ),
        written AS (
            INSERT INTO {OrderLine._meta.db_table} (order_id, {_columns(OrderLine, _LINE)})
            SELECT placed.id, line.* FROM placed, (VALUES {line_rows}) AS line
            RETURNING id, product_id
        ),
        saga AS (
            INSERT INTO {CheckoutSaga._meta.db_table} (order_id, {_columns(CheckoutSaga, _SAGA)})
            SELECT placed.id, {marks(len(_SAGA))} FROM placed
            RETURNING id
        ),
        emitted AS (
            INSERT INTO {OutboxEvent._meta.db_table}
                ({_columns(OutboxEvent, _EVENT)}, aggregate_id, trace_context, payload)
            SELECT {marks(len(_EVENT))}, placed.id::text, %s,
                jsonb_set(%s, '{{order_id}}', to_jsonb(placed.id))
            FROM placed
        )
        SELECT placed.id, (SELECT id FROM saga), (SELECT array_agg(ARRAY[id, product_id]) FROM written)
        FROM placed
    """
    params = _values(Order, order, _ORDER)
    for line in lines:
        params += _values(OrderLine, line, _LINE)
    params += _values(CheckoutSaga, saga, _SAGA)
    params += _values(OutboxEvent, event, [*_EVENT, "trace_context", "payload"])
    with connections[DB].cursor() as cursor:
        cursor.execute(sql, params)
        order.pk, saga.pk, written = cursor.fetchone()
    saga.order = order
    ids = {product_id: line_id for line_id, product_id in written}
    for line in lines:
        line.order, line.pk = order, ids[line.product_id]


def _replayed(order: Order, payment_method: str) -> Order:
    if order.payment_method != payment_method:
        raise IdempotencyConflict(
            "This Idempotency-Key was used for a checkout with another payment method.",
            {"order_id": order.pk},
        )
    return order
