"""A payment's state and how it moves: only forward (see `RANK`), emitting the matching event in the
same transaction, whichever of Stripe's API answer and its webhook events arrives first.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from apps.payment.models import DB, OutboxEvent, Payment
from ecommerce.contracts.keys import key_check
from ecommerce.contracts.payment.events import ChargeDeclined, ChargeSucceeded, PaymentEvent
from ecommerce.transports.outbox import emit

S = Payment.Status

# How far along a payment is; a change never lowers it. PENDING and UNAVAILABLE are the same
# "not settled" step; DECLINED and FAILED are refusals that a Stripe success may still overrule.
RANK = {
    S.PENDING: 0,
    S.UNAVAILABLE: 0,
    S.DECLINED: 1,
    S.FAILED: 1,
    S.SUCCEEDED: 2,
    S.PARTIALLY_REFUNDED: 3,
    S.REFUNDED: 4,
}
CHARGED = (S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED)
CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def stripe_key(kind: str, key: str) -> str:
    """Stripe's idempotency key for one step of our operation `key` (at most 255 characters)."""
    return f"{kind}:{key}"


def validate_key(idempotency_key: Any) -> None:
    key_check(idempotency_key, name="idempotency_key")


def emit_event(event: type[PaymentEvent], payment: Payment, **fields: Any) -> None:
    """`event` about `payment`; `fields` adds to (or, for a refund's amount, replaces) its own."""
    fields = {
        "payment_id": payment.pk,
        "order_id": payment.order_id,
        "amount": payment.amount,
        "currency": payment.currency,
        **fields,
    }
    emit(OutboxEvent, event(**fields), using=DB)


def locked(payment_id: int) -> Payment:
    return Payment.objects.using(DB).select_for_update().get(pk=payment_id)


def _moves_from(status: str) -> list[str]:
    """The statuses a payment may be in for news of `status` to move it (and set its fields)."""
    rank = RANK[status]
    return [
        current
        for current, current_rank in RANK.items()
        if rank > current_rank or status == current or rank == current_rank == 0
    ]


def _advance_forward(
    payment_id: int, status: str, fields: dict[str, Any]
) -> tuple[str, Payment] | None:
    """Move the payment forward in one UPDATE that locks the row and answers what it was
    (PostgreSQL): it saves the SELECT ... FOR UPDATE and the full-row save of the ORM. The
    previous status and the row as it now is; None if the news is older than the row (or the
    database is not PostgreSQL): the caller judges it under the lock instead."""
    connection = connections[DB]
    if connection.vendor != "postgresql":
        return None
    table = Payment._meta.db_table
    changes = {**fields, "status": status, "updated_at": timezone.now()}
    assigned = [Payment._meta.get_field(name) for name in changes]
    columns = Payment._meta.concrete_fields
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS payment SET {", ".join(f"{f.column} = %s" for f in assigned)}
            FROM (SELECT id, status FROM {table} WHERE id = %s FOR UPDATE) AS was
            WHERE payment.id = was.id AND was.status = ANY(%s)
            RETURNING was.status, {", ".join(f"payment.{f.column}" for f in columns)}
            """,
            [
                *(
                    f.get_db_prep_save(value, connection)
                    for f, value in zip(assigned, changes.values(), strict=True)
                ),
                payment_id,
                _moves_from(status),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0], Payment.from_db(DB, [f.attname for f in columns], row[1:])


def payment_advance(payment_id: int, status: str, **fields: Any) -> Payment:
    """Move a payment forward to `status` with its Stripe fields, emitting the matching event.

    Older news (a lower rank) changes nothing but Stripe ids still missing; news of the same
    rank refreshes the fields. Returns the row as it now is.
    """
    if status not in (S.SUCCEEDED, S.DECLINED):
        # No event can follow: the forward move is one statement, committed on its own.
        moved = _advance_forward(payment_id, status, fields)
        if moved is not None:
            return moved[1]
    with transaction.atomic(using=DB):
        moved = _advance_forward(payment_id, status, fields)
        if moved is not None:
            current, payment = moved
        else:
            payment = locked(payment_id)
            current = payment.status
            rank, current_rank = RANK[status], RANK[current]
            if rank > current_rank or status == current or rank == current_rank == 0:
                for name, value in fields.items():
                    setattr(payment, name, value)
                if rank > current_rank or rank == 0:
                    payment.status = status
            else:
                for name in ("provider_id", "provider_charge_id"):
                    if fields.get(name) and not getattr(payment, name):
                        setattr(payment, name, fields[name])
            payment.save()
        if payment.status != current and payment.status == S.SUCCEEDED:
            emit_event(ChargeSucceeded, payment)
        elif payment.status != current and payment.status == S.DECLINED:
            emit_event(ChargeDeclined, payment, decline_code=payment.decline_code)
        return payment
