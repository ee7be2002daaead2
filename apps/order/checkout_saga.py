"""The checkout saga's orchestrator: runs the steps in order and compensates in reverse.

Forward:      reserve_cart -> hold_stock -> charge_payment -> commit
Compensation: refund_payment -> release_stock -> release_cart -> (order FAILED)

The table `SAGA` (below the steps) says it: each step, the function that runs it, the step
that undoes it and whether it waits for another service's reply.

Every step's row is written, and committed, before its command leaves; its outcome is written
before the next step starts. Every command carries an idempotency key derived from the order,
so re-running a step after a crash or a redelivery never reserves, holds or charges twice.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import connections, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from apps.order import events, metrics
from apps.order.models import DB, CheckoutSaga, Order, OrderLine, OutboxEvent, SagaStep
from apps.order.saga_lock import saga_lock
from ecommerce.contracts.cart.commands import ReleaseItems, ReserveItems
from ecommerce.contracts.errors import (
    Conflict,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
    ServiceUnavailable,
)
from ecommerce.contracts.order.commands import SagaReply, StepResult
from ecommerce.contracts.payment.errors import PaymentDeclined, PaymentError, PaymentUnavailable
from ecommerce.contracts.product.errors import OutOfStock, ProductNotFound, ProductUnavailable
from ecommerce.contracts.product.port import StockLine
from ecommerce.observability import tracing
from ecommerce.transports.messaging import send
from ecommerce.wiring import resolver
from ecommerce.wiring.failpoints import failpoint

logger = logging.getLogger(__name__)


class Step(StrEnum):
    RESERVE_CART = "reserve_cart"
    HOLD_STOCK = "hold_stock"
    CHARGE_PAYMENT = "charge_payment"
    COMMIT = "commit"
    REFUND_PAYMENT = "refund_payment"
    RELEASE_STOCK = "release_stock"
    RELEASE_CART = "release_cart"


class FailureReason(StrEnum):
    """Why a saga turned to compensation (`CheckoutSaga.failure_reason`). A cart that refuses a
    reservation answers with its domain error's code instead (`cart_empty`, `cart_locked`)."""

    OUT_OF_STOCK = "out_of_stock"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    PRODUCT_SERVICE_UNAVAILABLE = "product_service_unavailable"
    INVALID_ORDER = "invalid_order"
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_UNAVAILABLE = "payment_unavailable"
    PAYMENT_ERROR = "payment_error"
    CART_UNAVAILABLE = "cart_unavailable"
    CART_ERROR = "cart_error"
    COMMIT_FAILED = "commit_failed"
    CANCELLED = "cancelled"
    CANCELLED_BY_OPERATOR = "cancelled_by_operator"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing more to do now: a reply or a retry will advance the saga."""

    retry_in: float | None = None


CONTINUE = None  # the step's outcome is recorded; run the saga's next step now


# -- recording -------------------------------------------------------------------------------


def _load(order_id: int) -> CheckoutSaga | None:
    """The saga with its order; on PostgreSQL the order's lines too, in the same statement
    (an array of them beside the row: it saves the SELECT of the lines a drive would send)."""
    if connections[DB].vendor != "postgresql":
        return CheckoutSaga.objects.select_related("order").filter(order_id=order_id).first()
    load = _load_statement()
    with connections[DB].cursor() as cursor:
        cursor.execute(load.sql, [order_id])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(load.saga_fields)
    saga = CheckoutSaga.from_db(DB, load.saga_fields, row[:split])
    order = Order.from_db(DB, load.order_fields, row[split:-1])
    saga.order = order
    order.known_lines = [
        OrderLine(order=order, **(json.loads(line) if isinstance(line, str) else line))
        for line in row[-1]
    ]
    return saga


@dataclass(frozen=True, slots=True)
class _LoadStatement:
    sql: str
    saga_fields: list[str]  # the attribute names of the saga's columns, in the SELECT's order
    order_fields: list[str]  # then the order's; last, the array of its lines


@functools.cache
def _load_statement() -> _LoadStatement:
    """`_load`'s SELECT, written once per process: the queryset it replaces (a select_related
    and an ArraySubquery of JSONObject rows) was built and compiled again on every drive."""
    saga, order, line = (model._meta for model in (CheckoutSaga, Order, OrderLine))
    line_object = ", ".join(
        f"'{name}', l.\"{line.get_field(name).column}\"" for name in ("id", *OrderLine.FIELDS)
    )
    sql = f"""
        SELECT {", ".join(f's."{field.column}"' for field in saga.concrete_fields)},
               {", ".join(f'o."{field.column}"' for field in order.concrete_fields)},
               ARRAY(SELECT json_build_object({line_object}) FROM "{line.db_table}" l
                     WHERE l."order_id" = s."order_id" ORDER BY l."id")
        FROM "{saga.db_table}" s JOIN "{order.db_table}" o ON o."id" = s."order_id"
        WHERE s."order_id" = %s
    """
    return _LoadStatement(
        sql,
        [field.attname for field in saga.concrete_fields],
        [field.attname for field in order.concrete_fields],
    )


def _save(saga: CheckoutSaga, **fields) -> None:
    """Write only what changed; the caller holds the saga's lock, so memory is the truth."""
    fields["updated_at"] = timezone.now()
    for name, value in fields.items():
        setattr(saga, name, value)
    CheckoutSaga.objects.filter(pk=saga.pk).update(**fields)


# One statement records an attempt: the first inserts the step, a retry counts one more. It
# saves the ORM's get_or_create and update (two to four statements, a savepoint among them) on
# every step of every checkout.
_STEP_ATTEMPT = f"""
    INSERT INTO {SagaStep._meta.db_table}
        (saga_id, name, status, attempts, started_at, error, result)
    VALUES (%s, %s, 'STARTED', 1, %s, '', '{{}}')
    ON CONFLICT (saga_id, name) DO UPDATE SET attempts = {SagaStep._meta.db_table}.attempts + 1
        WHERE {SagaStep._meta.db_table}.status = 'STARTED'
    RETURNING id, attempts
"""

# The same attempt, of the step that follows, inside the statement that records the previous
# step's success (`_record_and_move`, where `moved` is the saga it moved on).
_NEXT_STEP_ATTEMPT = f"""
    INSERT INTO {SagaStep._meta.db_table}
        (saga_id, name, status, attempts, started_at, error, result)
    SELECT saga_id, %s, 'STARTED', 1, %s, '', '{{}}' FROM moved
    ON CONFLICT (saga_id, name) DO UPDATE SET attempts = {SagaStep._meta.db_table}.attempts + 1
        WHERE {SagaStep._meta.db_table}.status = 'STARTED'
    RETURNING id, attempts
"""


def step_start(saga: CheckoutSaga, name: str) -> SagaStep:
    """Record an attempt of `name`, committed before anything is sent. The statement that
    recorded the previous step's outcome may have recorded it already (`_record_and_move`)."""
    started = getattr(saga, "started", None)
    if started is not None and started[0] == name:
        saga.started = None
        row = started[1:]
    else:
        with connections[DB].cursor() as cursor:
            cursor.execute(_STEP_ATTEMPT, [saga.pk, name, timezone.now()])
            row = cursor.fetchone()
    if row is None:  # already ended: a late duplicate; nothing to count
        step = SagaStep.objects.get(saga=saga, name=name)
    else:
        step = SagaStep(
            pk=row[0], saga=saga, name=name, attempts=row[1], status=SagaStep.Status.STARTED
        )
        if step.attempts > 1:
            # A saga that is being retried is not stuck: the sweep leaves it alone.
            CheckoutSaga.objects.filter(pk=saga.pk).update(updated_at=timezone.now())
    tracing.annotate({"saga.attempt": step.attempts})
    failpoint(f"saga.started.{name}")
    return step


def _record(saga: CheckoutSaga, name: str, status: str, *, error: str = "", result=None) -> bool:
    """Write a step's outcome once; False if it was already recorded (a duplicate reply).

    One conditional UPDATE ... RETURNING: the row's status guards against a second outcome, so no
    SELECT ... FOR UPDATE and save (three statements) is needed under the saga's lock."""
    connection = connections[DB]
    result_value = SagaStep._meta.get_field("result").get_db_prep_save(result or {}, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {SagaStep._meta.db_table}
            SET status = %s, finished_at = %s, error = %s, result = %s
            WHERE saga_id = %s AND name = %s AND status = %s
            RETURNING started_at
            """,
            [
                str(status),
                timezone.now(),
                error[:500],
                result_value,
                saga.pk,
                name,
                SagaStep.Status.STARTED,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    metrics.step_ended(name, status, _as_datetime(row[0]), compensation=name in COMPENSATION)
    return True


def _as_datetime(value) -> datetime | None:
    """A timestamp from a raw cursor: PostgreSQL answers a datetime, SQLite its text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def _record_and_move(
    saga: CheckoutSaga,
    name: str,
    *,
    result,
    start: str | None = None,
    order: dict | None = None,
    event: OutboxEvent | None = None,
    **fields,
) -> bool:
    """A step's success and everything it changes in one statement (PostgreSQL), so it all
    commits together without a transaction around it: the saga's new fields; the attempt of
    the step that follows (`start`: the INSERT step_start would send next); the order's new
    fields and its outbox event (`order`, `event`: the commit step). It saves the BEGIN, the
    COMMIT and a round trip for each of those writes. False if it was already recorded."""
    connection = connections[DB]
    now = timezone.now()
    fields["updated_at"] = now
    columns = [CheckoutSaga._meta.get_field(field) for field in fields]
    assignments = ", ".join(f"{column.column} = %s" for column in columns)
    values = [
        column.get_db_prep_save(value, connection)
        for column, value in zip(columns, fields.values(), strict=True)
    ]
    result_value = SagaStep._meta.get_field("result").get_db_prep_save(result or {}, connection)
    parts, params = [], []
    if start is not None:
        parts.append(f"started AS ({_NEXT_STEP_ATTEMPT})")
        params += [start, now]
    if order:
        order_columns = [Order._meta.get_field(field) for field in {**order, "updated_at": now}]
        order_values = {**order, "updated_at": now}.values()
        parts.append(
            f"""ordered AS (
                UPDATE {Order._meta.db_table}
                SET {", ".join(f"{column.column} = %s" for column in order_columns)}
                WHERE id IN (SELECT order_id FROM moved)
            )"""
        )
        params += [
            column.get_db_prep_save(value, connection)
            for column, value in zip(order_columns, order_values, strict=True)
        ]
    if event is not None:
        event_columns = [f for f in OutboxEvent._meta.concrete_fields if not f.primary_key]
        parts.append(
            f"""emitted AS (
                INSERT INTO {OutboxEvent._meta.db_table}
                    ({", ".join(column.column for column in event_columns)})
                SELECT {", ".join(["%s"] * len(event_columns))} FROM moved
            )"""
        )
        params += [
            column.get_db_prep_save(column.pre_save(event, add=True), connection)
            for column in event_columns
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH step AS (
                UPDATE {SagaStep._meta.db_table}
                SET status = %s, finished_at = %s, error = '', result = %s
                WHERE saga_id = %s AND name = %s AND status = %s
                RETURNING saga_id, started_at
            ),
            moved AS (
                UPDATE {CheckoutSaga._meta.db_table} SET {assignments}
                WHERE id IN (SELECT saga_id FROM step)
                RETURNING id AS saga_id, order_id
            ){"".join(f", {part}" for part in parts)}
            SELECT (SELECT started_at FROM step){
                ", (SELECT id FROM started), (SELECT attempts FROM started)" if start else ""
            }
            """,
            [
                SagaStep.Status.SUCCEEDED,
                now,
                result_value,
                saga.pk,
                name,
                SagaStep.Status.STARTED,
                *values,
                *params,
            ],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return False
    for field, value in fields.items():
        setattr(saga, field, value)
    if start is not None and row[1] is not None:
        saga.started = (start, row[1], row[2])
    started = _as_datetime(row[0])
    metrics.step_ended(name, SagaStep.Status.SUCCEEDED, started, compensation=name in COMPENSATION)
    return True


def step_succeeded(
    saga: CheckoutSaga,
    name: str,
    *,
    result=None,
    reservation: StepResult | None = None,
    **changes,
) -> bool:
    """Record a step's success and move the saga on, atomically. The caller holds the saga's
    lock. False if the outcome was already recorded (a duplicate reply). `reservation`: the
    cart's reply to reserve_cart, whose lines replace the order's if the cart changed."""
    sequence = FORWARD if name in FORWARD else COMPENSATION
    following = sequence[sequence.index(name) + 1 :]
    tracing.annotate({"saga.outcome": "succeeded"})
    rewrites = reservation is not None and _reservation_differs(saga.order, reservation)
    if following and not rewrites and connections[DB].vendor == "postgresql":
        # The common case: the step's row and the saga's position change, and the next step's
        # attempt is recorded, all in one statement.
        if not _record_and_move(
            saga, name, result=result, step=following[0], start=following[0], **changes
        ):
            return False
        failpoint(f"saga.recorded.{name}")
        return True
    if name == Step.COMMIT and connections[DB].vendor == "postgresql":
        # The saga and its order complete, and say so in the outbox, in one statement.
        if not _record_and_move(
            saga,
            name,
            result=result,
            order={"status": Order.Status.COMPLETED},
            event=events.order_completed_row(saga.order, _order_lines(saga.order)),
            state=CheckoutSaga.State.COMPLETED,
            step="done",
            finished_at=timezone.now(),
        ):
            return False
        _completed(saga)
        failpoint(f"saga.recorded.{name}")
        return True
    with transaction.atomic(using=DB):
        if not _record(saga, name, SagaStep.Status.SUCCEEDED, result=result):
            return False
        if rewrites:
            _take_reservation(saga.order, reservation)
        if name == Step.COMMIT:
            _complete(saga)
        elif following:
            _save(saga, step=following[0], **changes)
        else:
            _fail_order(saga)
    failpoint(f"saga.recorded.{name}")
    return True


def step_failed(saga: CheckoutSaga, name: str, *, reason: str, error: str = "") -> bool:
    """A forward step failed for good: record it and turn the saga to compensation."""
    tracing.annotate({"saga.outcome": "failed", "saga.failure_reason": reason}, error=reason)
    with transaction.atomic(using=DB):
        if not _record(saga, name, SagaStep.Status.FAILED, error=error or reason):
            return False
        if saga.state == CheckoutSaga.State.RUNNING:
            _save(
                saga,
                state=CheckoutSaga.State.COMPENSATING,
                failure_reason=reason,
                step=COMPENSATION[0],
            )
            events.saga_step_failed(saga.order, step=name, reason=reason)
    failpoint(f"saga.recorded.{name}")
    return True


def _order_lines(order: Order) -> list[OrderLine]:
    """The order's lines by product, read at most once per drive: the saga's lock holds them."""
    known = getattr(order, "known_lines", None)
    if known is None:
        prefetch_related_objects([order], "lines")
        known = order.known_lines = list(order.lines.all())
    return sorted(known, key=lambda line: line.product_id)


def _reservation_differs(order: Order, reservation: StepResult) -> bool:
    """Whether the reserved lines differ from those peeked at checkout (the cart changed)."""
    wanted = sorted(
        (i.product_id, i.sku, i.name, i.quantity, i.unit_price) for i in reservation.items
    )
    held = [
        (line.product_id, line.sku, line.name, line.quantity, line.unit_price)
        for line in _order_lines(order)
    ]
    return wanted != held or (reservation.currency or order.currency) != order.currency


def _take_reservation(order: Order, reservation: StepResult) -> None:
    """The reserved lines are what is sold: they replace the lines peeked at checkout."""
    items = reservation.items
    order.refresh_from_db(fields=["lines"])  # forget the lines read before
    order.known_lines = None
    OrderLine.objects.filter(order=order).delete()
    OrderLine.objects.bulk_create(OrderLine.of(order, item) for item in items)
    order.total = sum(item.quantity * item.unit_price for item in items)
    order.currency = reservation.currency or order.currency
    order.save(update_fields=["total", "currency", "updated_at"])


def _complete(saga: CheckoutSaga) -> None:
    _save(saga, state=CheckoutSaga.State.COMPLETED, step="done", finished_at=timezone.now())
    order = saga.order
    order.status = Order.Status.COMPLETED
    order.save(update_fields=["status", "updated_at"])
    events.order_completed(order)
    _completed(saga)


def _completed(saga: CheckoutSaga) -> None:
    """What follows a completion, once it is written."""
    saga.order.status = Order.Status.COMPLETED
    metrics.saga_ended(completed=True, started_at=saga.created_at)
    logger.info("saga %s: order completed", saga.order_id)


def _fail_order(saga: CheckoutSaga) -> None:
    _save(saga, state=CheckoutSaga.State.FAILED, step="done", finished_at=timezone.now())
    metrics.saga_ended(completed=False, reason=saga.failure_reason, started_at=saga.created_at)
    order = saga.order
    order.status = Order.Status.FAILED
    order.failure_reason = saga.failure_reason
    order.save(update_fields=["status", "failure_reason", "updated_at"])
    events.order_failed(order)
    logger.info("saga %s: order failed (%s)", saga.order_id, saga.failure_reason)


def _backoff(step: SagaStep) -> float:
    return min(settings.SAGA_RETRY_BACKOFF_MAX, 0.5 * 2 ** max(0, step.attempts - 1))


def _expired(saga: CheckoutSaga) -> bool:
    return timezone.now() - saga.created_at > timedelta(seconds=settings.SAGA_TIMEOUT_SECONDS)


def _retry_or_fail(saga: CheckoutSaga, step: SagaStep, reason: str, error: str) -> Wait | None:
    """A transient failure: try again later, or give up once attempts or time run out."""
    if step.attempts >= settings.SAGA_STEP_MAX_ATTEMPTS or _expired(saga):
        step_failed(saga, step.name, reason=reason, error=error)
        return CONTINUE
    logger.warning("saga %s: %s will retry: %s", saga.order_id, step.name, error)
    tracing.annotate({"saga.outcome": "retry", "saga.failure_reason": reason})
    return Wait(retry_in=_backoff(step))


def _lines(order: Order) -> list[StockLine]:
    return [
        StockLine(product_id=line.product_id, quantity=line.quantity)
        for line in _order_lines(order)
    ]


# -- forward steps ---------------------------------------------------------------------------


def reserve_cart(saga: CheckoutSaga) -> Wait | None:
    step = step_start(saga, Step.RESERVE_CART)
    if step.attempts > settings.SAGA_STEP_MAX_ATTEMPTS:
        step_failed(
            saga,
            Step.RESERVE_CART,
            reason=FailureReason.CART_UNAVAILABLE,
            error="no reply from the cart",
        )
        return CONTINUE
    send(
        ReserveItems(
            order_id=saga.order_id,
            user_id=saga.order.user_id,
            reservation_key=saga.reservation_key,
        )
    )
    return Wait()


def hold_stock(saga: CheckoutSaga) -> Wait | None:
    step = step_start(saga, Step.HOLD_STOCK)
    try:
        hold = resolver.product().stock_hold(hold_key=saga.hold_key, lines=_lines(saga.order))
    except OutOfStock as exc:
        step_failed(saga, Step.HOLD_STOCK, reason=FailureReason.OUT_OF_STOCK, error=exc.message)
    except (ProductUnavailable, ProductNotFound) as exc:
        step_failed(
            saga, Step.HOLD_STOCK, reason=FailureReason.PRODUCT_UNAVAILABLE, error=exc.message
        )
    except InvalidRequest as exc:
        step_failed(saga, Step.HOLD_STOCK, reason=FailureReason.INVALID_ORDER, error=exc.message)
    except ServiceUnavailable as exc:
        return _retry_or_fail(saga, step, FailureReason.PRODUCT_SERVICE_UNAVAILABLE, exc.message)
    else:
        if hold.status != "HELD" and hold.status != "CONFIRMED":
            step_failed(
                saga,
                Step.HOLD_STOCK,
                reason=FailureReason.CANCELLED,
                error=f"hold is {hold.status}",
            )
        else:
            step_succeeded(saga, Step.HOLD_STOCK, result={"hold_key": hold.hold_key})
    return CONTINUE


def charge_payment(saga: CheckoutSaga) -> Wait | None:
    step = step_start(saga, Step.CHARGE_PAYMENT)
    order = saga.order
    try:
        payment = resolver.payment().charge(
            order_id=order.pk,
            amount=order.total,
            currency=order.currency,
            payment_method=order.payment_method,
            idempotency_key=saga.charge_key,
        )
    except PaymentDeclined as exc:
        step_failed(
            saga, Step.CHARGE_PAYMENT, reason=FailureReason.PAYMENT_DECLINED, error=exc.message
        )
    except PaymentUnavailable as exc:
        return _retry_or_fail(saga, step, FailureReason.PAYMENT_UNAVAILABLE, exc.message)
    except (IdempotencyConflict, PaymentError, InvalidRequest) as exc:
        step_failed(
            saga, Step.CHARGE_PAYMENT, reason=FailureReason.PAYMENT_ERROR, error=exc.message
        )
    else:
        if payment.status != "SUCCEEDED":
            step_failed(
                saga,
                Step.CHARGE_PAYMENT,
                reason=FailureReason.PAYMENT_ERROR,
                error=f"payment is {payment.status}",
            )
        else:
            step_succeeded(
                saga,
                Step.CHARGE_PAYMENT,
                result={"payment_id": payment.id, "provider_id": payment.provider_id},
                payment_id=payment.id,
            )
    return CONTINUE


def commit(saga: CheckoutSaga) -> Wait | None:
    step = step_start(saga, Step.COMMIT)
    try:
        failpoint("saga.commit", error=Conflict)  # as the cart refuses a released reservation
        # Stock first: a confirmed hold cannot be given back, a committed cart cannot be undone.
        resolver.product().stock_confirm(hold_key=saga.hold_key)
        resolver.cart().commit(reservation_key=saga.reservation_key)
    except (Conflict, NotFound) as exc:
        step_failed(saga, Step.COMMIT, reason=FailureReason.COMMIT_FAILED, error=str(exc))
    except ServiceUnavailable as exc:
        return _retry_or_fail(saga, step, FailureReason.COMMIT_FAILED, exc.message)
    else:
        step_succeeded(saga, Step.COMMIT)
    return CONTINUE


# -- compensation ----------------------------------------------------------------------------


def refund_payment(saga: CheckoutSaga) -> Wait | None:
    """Give back whatever the charge took, including a charge whose answer was lost.

    The payment port answers `find_by_idempotency_key` with Stripe's own view of an open
    payment (it asks, never confirms): a charge that went through although its answer never
    arrived is found SUCCEEDED and refunded; one Stripe never confirmed took nothing. While
    Stripe cannot be asked, the step waits and tries again.
    """
    step = step_start(saga, Step.REFUND_PAYMENT)
    try:
        payment_id = saga.payment_id
        if (
            payment_id is None
            and SagaStep.objects.filter(saga=saga, name=Step.CHARGE_PAYMENT).exists()
        ):
            found = resolver.payment().find_by_idempotency_key(idempotency_key=saga.charge_key)
            payment_id = found.id if found is not None and found.status in REFUNDABLE else None
        if payment_id is None:
            step_succeeded(saga, Step.REFUND_PAYMENT, result={"refund": None})
            return CONTINUE
        refund = resolver.payment().refund(payment_id=payment_id, idempotency_key=saga.refund_key)
    except ServiceUnavailable as exc:
        return _retry_compensation(saga, step, exc.message)
    step_succeeded(
        saga, Step.REFUND_PAYMENT, result={"refund_id": refund.id, "amount": refund.amount}
    )
    return CONTINUE


REFUNDABLE = ("SUCCEEDED", "PARTIALLY_REFUNDED")


def release_stock(saga: CheckoutSaga) -> Wait | None:
    step = step_start(saga, Step.RELEASE_STOCK)
    try:
        hold = resolver.product().stock_release(hold_key=saga.hold_key)
    except Conflict as exc:
        # Confirmed stock was sold; nothing to give back.
        step_succeeded(saga, Step.RELEASE_STOCK, result={"note": exc.message})
        return CONTINUE
    except ServiceUnavailable as exc:
        return _retry_compensation(saga, step, exc.message)
    step_succeeded(saga, Step.RELEASE_STOCK, result={"status": hold.status})
    return CONTINUE


def release_cart(saga: CheckoutSaga) -> Wait | None:
    step_start(saga, Step.RELEASE_CART)
    send(
        ReleaseItems(
            order_id=saga.order_id,
            user_id=saga.order.user_id,
            reservation_key=saga.reservation_key,
        )
    )
    return Wait()


def _retry_compensation(saga: CheckoutSaga, step: SagaStep, error: str) -> Wait:
    """Compensation never gives up: money or stock would be lost. It backs off instead."""
    logger.warning("saga %s: %s will retry: %s", saga.order_id, step.name, error)
    tracing.annotate({"saga.outcome": "retry", "saga.failure_reason": error[:200]})
    SagaStep.objects.filter(pk=step.pk).update(error=error[:500])
    return Wait(retry_in=_backoff(step))


# -- the saga, as a table ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepSpec:
    name: Step
    # Runs one attempt; CONTINUE when its outcome is recorded, Wait when a reply or a retry is due.
    action: Callable[[CheckoutSaga], Wait | None]
    # The step that undoes this one once it has run (compensations run in reverse order).
    compensated_by: Step | None = None
    # Answered by another service's reply on the orchestrator's queue (saga_reply), not inline.
    awaits_reply: bool = False


SAGA = (
    StepSpec(Step.RESERVE_CART, reserve_cart, Step.RELEASE_CART, awaits_reply=True),
    StepSpec(Step.HOLD_STOCK, hold_stock, Step.RELEASE_STOCK),
    StepSpec(Step.CHARGE_PAYMENT, charge_payment, Step.REFUND_PAYMENT),
    StepSpec(Step.COMMIT, commit),
)
COMPENSATIONS = (
    StepSpec(Step.REFUND_PAYMENT, refund_payment),
    StepSpec(Step.RELEASE_STOCK, release_stock),
    StepSpec(Step.RELEASE_CART, release_cart, awaits_reply=True),
)

FORWARD = tuple(s.name for s in SAGA)
# Undo in reverse: the last forward step that can be undone is undone first.
COMPENSATION = tuple(s.compensated_by for s in reversed(SAGA) if s.compensated_by)
STEPS = {s.name: s.action for s in (*SAGA, *COMPENSATIONS)}
ASYNC_STEPS = tuple(s.name for s in (*SAGA, *COMPENSATIONS) if s.awaits_reply)


# -- driving ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Busy:
    """Another live process drives this saga right now."""


def saga_advance(*, order_id: int) -> Wait | Busy | None:
    """Run the saga from where it stands until it waits or ends."""
    with saga_lock(order_id) as acquired:
        if not acquired:
            return Busy()
        return _run(_load(order_id))


def _step_span(saga: CheckoutSaga, name: str, *, reply: bool = False):
    """The span of one attempt at a step (or of recording a service's reply to one)."""
    return tracing.span(
        f"saga {name} reply" if reply else f"saga {name}",
        attributes={
            "saga.order_id": saga.order_id,
            "saga.step": name,
            "saga.compensation": name in COMPENSATION,
        },
    )


def _run(saga: CheckoutSaga | None) -> Wait | None:
    """Drive a saga loaded under its lock, its port calls routed as its user's (a service
    under cut-over answers one saga from one side)."""
    if saga is None:
        return None
    with resolver.routed_as(user_id=saga.order.user_id):
        return _drive(saga)


def _drive(saga: CheckoutSaga | None) -> Wait | None:
    """Run a saga's steps; each step's outcome updates it in memory."""
    for _ in range(len(STEPS) + 2):
        if saga is None or saga.state in CheckoutSaga.TERMINAL:
            return None
        if saga.state == CheckoutSaga.State.RUNNING and _expired(saga):
            with _step_span(saga, saga.step):
                step_start(saga, saga.step)
                step_failed(
                    saga, saga.step, reason=FailureReason.TIMEOUT, error="the saga ran out of time"
                )
            continue
        before = (saga.state, saga.step)
        with _step_span(saga, saga.step):
            outcome = STEPS[saga.step](saga)
            if isinstance(outcome, Wait) and outcome.retry_in is None:
                tracing.annotate({"saga.outcome": "awaiting_reply"})
        if isinstance(outcome, Wait):
            return outcome
        if (saga.state, saga.step) == before:
            # The outcome had been recorded already (a redelivery): read where it stands.
            saga = _load(saga.order_id)
            if saga is not None and (saga.state, saga.step) == before:
                return None
    return None


def saga_reply(reply: SagaReply) -> Wait | Busy | None:
    """Record what a service answered to a command, then drive the saga on.

    Duplicates and late replies change nothing. A failed release does not drive the saga: the
    sweep sends it again later, rather than two services bouncing it at full speed.
    """
    order_id, step, error = reply.order_id, reply.step, reply.error
    if step not in ASYNC_STEPS:
        raise InvalidRequest(f"No saga step {step!r}.")
    # The holder is usually the drive that sent the command, about to let go: wait for it.
    with saga_lock(order_id, wait=1.0) as acquired:
        if not acquired:
            return Busy()
        saga = _load(order_id)
        if saga is None:
            raise InvalidRequest(f"No saga for order {order_id}.")
        with _step_span(saga, step, reply=True):
            if reply.ok:
                reservation = reply.result if step == Step.RESERVE_CART else None
                step_succeeded(
                    saga, step, result=reply.result.to_payload(), reservation=reservation
                )
            elif step == Step.RESERVE_CART:
                step_failed(saga, step, reason=error or FailureReason.CART_ERROR, error=error)
            else:
                tracing.annotate({"saga.outcome": "retry", "saga.failure_reason": error or ""})
                SagaStep.objects.filter(saga=saga, name=step).update(error=(error or "")[:500])
                return None
        return _run(saga)


def saga_force_compensation(*, order_id: int, reason: str = FailureReason.CANCELLED) -> bool:
    """Stop a running saga and undo what it did (an operator's decision)."""
    with saga_lock(order_id) as acquired:
        if not acquired:
            return False
        saga = _load(order_id)
        if saga is None or saga.state != CheckoutSaga.State.RUNNING:
            return False
        with transaction.atomic(using=DB):
            SagaStep.objects.filter(
                saga=saga, name=saga.step, status=SagaStep.Status.STARTED
            ).update(status=SagaStep.Status.FAILED, finished_at=timezone.now(), error=reason)
            _save(
                saga,
                state=CheckoutSaga.State.COMPENSATING,
                failure_reason=reason,
                step=COMPENSATION[0],
            )
            events.saga_step_failed(saga.order, step="operator", reason=reason)
    return True


def sagas_unfinished(*, older_than: float = 0) -> list[int]:
    """Order ids of sagas that are not terminal and have not moved for `older_than` seconds."""
    qs = CheckoutSaga.objects.exclude(state__in=CheckoutSaga.TERMINAL)
    if older_than:
        qs = qs.filter(updated_at__lt=timezone.now() - timedelta(seconds=older_than))
    return list(qs.order_by("order_id").values_list("order_id", flat=True))
