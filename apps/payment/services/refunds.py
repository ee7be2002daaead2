"""Refunds, whole or partial: committed before Stripe is called and keyed as charges are, so a
refund is made at most once; a payment's refunded total and status follow its refunds.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Sum

from apps.payment import stripe_gateway
from apps.payment.models import Payment, Refund
from apps.payment.services.state import (
    CHARGED,
    DB,
    RANK,
    S,
    emit_event,
    locked,
    stripe_key,
    validate_key,
)
from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.payment.errors import PaymentError, PaymentNotFound, PaymentUnavailable
from ecommerce.contracts.payment.events import PaymentRefunded


def _refunded_total(payment: Payment) -> int:
    total = payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"]
    return total or 0


def refund_succeeded(refund_id: int, *, provider_id: str, provider_status: str) -> Refund:
    """Record a refund Stripe made; the payment's refunded amount is the sum of such refunds."""
    with transaction.atomic(using=DB):
        payment_id = Refund.objects.using(DB).values_list("payment_id", flat=True).get(pk=refund_id)
        payment = locked(payment_id)
        refund = Refund.objects.using(DB).select_for_update().get(pk=refund_id)
        if refund.status == Refund.Status.SUCCEEDED:
            return refund
        refund.status = Refund.Status.SUCCEEDED
        refund.provider_id = provider_id
        refund.provider_status = provider_status
        refund.failure_message = ""
        refund.save()
        _payment_sync_refunds(payment)
        emit_event(
            PaymentRefunded,
            payment,
            amount=refund.amount,
            refund_id=refund.pk,
            refunded_total=payment.refunded_amount,
            payment_amount=payment.amount,
        )
        return refund


def _payment_sync_refunds(payment: Payment) -> None:
    """Call with the payment locked."""
    payment.refunded_amount = _refunded_total(payment)
    if payment.refunded_amount >= payment.amount:
        payment.status = S.REFUNDED
    elif payment.refunded_amount > 0 and RANK[payment.status] <= RANK[S.PARTIALLY_REFUNDED]:
        payment.status = S.PARTIALLY_REFUNDED
    payment.save()


def _refund_mark(refund: Refund, status: str, message: str) -> Refund:
    with transaction.atomic(using=DB):
        locked = Refund.objects.using(DB).select_for_update().get(pk=refund.pk)
        if locked.status in (Refund.Status.PENDING, Refund.Status.UNAVAILABLE):
            locked.status = status
            locked.failure_message = message[:300]
            locked.save()
        return locked


def payment_refund(*, payment_id: int, idempotency_key: str, amount: int | None = None) -> Refund:
    """Refund all that remains (amount None) or part of it, once per key.

    Raises PaymentNotFound, InvalidRequest (nothing or not that much left to refund, or the
    payment took no money), IdempotencyConflict, PaymentUnavailable (the refund is then
    UNAVAILABLE: repeat the call) and PaymentError.
    """
    validate_key(idempotency_key)
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or amount < 1
    ):
        raise InvalidRequest(
            "A refund amount is a positive integer in minor units.",
            {"amount": ["A positive integer."]},
        )
    refund = Refund.objects.using(DB).filter(idempotency_key=idempotency_key).first()
    if refund is None:
        try:
            refund = _refund_create(
                payment_id=payment_id, idempotency_key=idempotency_key, amount=amount
            )
        except IntegrityError:
            refund = Refund.objects.using(DB).get(idempotency_key=idempotency_key)
    if refund.payment_id != payment_id or (amount is not None and amount != refund.amount):
        raise IdempotencyConflict(
            f"Idempotency key {idempotency_key!r} was used for another refund.",
            {"refund_id": refund.pk, "payment_id": refund.payment_id, "amount": refund.amount},
        )
    return _refund_settle(refund)


def _refund_create(*, payment_id: int, idempotency_key: str, amount: int | None) -> Refund:
    with transaction.atomic(using=DB):
        payment = Payment.objects.using(DB).select_for_update().filter(pk=payment_id).first()
        if payment is None:
            raise PaymentNotFound(f"No payment {payment_id}.", {"payment_id": payment_id})
        if payment.status not in CHARGED:
            raise InvalidRequest(
                f"Payment {payment_id} took no money to refund (it is {payment.status}).",
                {"payment_id": payment_id, "status": payment.status},
            )
        # Refunds not known to have failed count as taken: one whose outcome is still open
        # must not be refunded a second time by another key.
        committed = (
            payment.refunds.exclude(status=Refund.Status.FAILED).aggregate(s=Sum("amount"))["s"]
            or 0
        )
        refundable = payment.amount - committed
        wanted = refundable if amount is None else amount
        if refundable <= 0 or wanted > refundable:
            raise InvalidRequest(
                f"Payment {payment_id} has {refundable} left to refund; {wanted} was asked.",
                {"payment_id": payment_id, "refundable": refundable, "amount": wanted},
            )
        return Refund.objects.using(DB).create(
            payment=payment, amount=wanted, idempotency_key=idempotency_key
        )


def _refund_settle(refund: Refund) -> Refund:
    if refund.status == Refund.Status.SUCCEEDED:
        return refund
    if refund.status == Refund.Status.FAILED:
        raise InvalidRequest(refund.failure_message, {"refund_id": refund.pk})
    payment = refund.payment
    try:
        made = stripe_gateway.refund_create(
            intent_id=payment.provider_id,
            amount=refund.amount,
            metadata={
                "refund_id": str(refund.pk),
                "payment_id": str(payment.pk),
                "order_id": str(payment.order_id),
            },
            idempotency_key=stripe_key("refund", refund.idempotency_key),
        )
    except PaymentUnavailable as exc:
        refund = _refund_mark(
            refund,
            Refund.Status.UNAVAILABLE,
            f"Stripe unreachable; refund again with the same key. {exc.message}",
        )
        if refund.status != Refund.Status.SUCCEEDED:
            exc.details.update(refund_id=refund.pk, payment_id=payment.pk)
            raise
        return refund
    except (InvalidRequest, IdempotencyConflict, PaymentError) as exc:
        refund = _refund_mark(refund, Refund.Status.FAILED, f"Stripe refused: {exc.message}")
        if refund.status == Refund.Status.SUCCEEDED:
            return refund
        raise InvalidRequest(
            refund.failure_message, {"refund_id": refund.pk, **exc.details}
        ) from exc
    return refund_succeeded(refund.pk, provider_id=made.id, provider_status=made.status)
