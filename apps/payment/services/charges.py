"""Charges: the row is committed before Stripe is called, with Stripe's idempotency key derived from
the row's, so a retried, resumed or concurrent charge reaches the same PaymentIntent and money
moves at most once.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from django.db import IntegrityError, transaction

from apps.payment import stripe_gateway
from apps.payment.models import Payment
from apps.payment.services.state import CURRENCY, DB, S, payment_advance, stripe_key, validate_key
from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.payment.errors import PaymentDeclined, PaymentError, PaymentUnavailable


def _validate_charge(
    *, order_id: Any, amount: Any, currency: Any, payment_method: Any, idempotency_key: Any
) -> None:
    errors: dict[str, list[str]] = {}
    if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id < 1:
        errors["order_id"] = ["A positive integer."]
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        errors["amount"] = ["A positive integer in minor units."]
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        errors["currency"] = ["An ISO 4217 code such as USD."]
    if not isinstance(payment_method, str) or not 1 <= len(payment_method) <= 100:
        errors["payment_method"] = ["A Stripe PaymentMethod id such as pm_card_visa."]
    if errors:
        raise InvalidRequest("The charge is not valid.", errors)
    validate_key(idempotency_key)


def _payment_for_key(
    *, order_id: int, amount: int, currency: str, payment_method: str, idempotency_key: str
) -> Payment:
    """The payment this key stands for, created (and committed) if new."""
    wanted = {
        "order_id": order_id,
        "amount": amount,
        "currency": currency,
        "payment_method": payment_method,
    }
    try:
        # A single INSERT needs no transaction of its own (a failed one leaves none to roll
        # back); inside a caller's transaction, a savepoint keeps that transaction usable.
        with (
            transaction.atomic(using=DB)
            if transaction.get_connection(DB).in_atomic_block
            else nullcontext()
        ):
            return Payment.objects.using(DB).create(
                idempotency_key=idempotency_key, status=S.PENDING, **wanted
            )
    except IntegrityError:
        # The key was used before (a repeated or resumed charge): that payment is the answer.
        payment = Payment.objects.using(DB).get(idempotency_key=idempotency_key)
    differing = {
        name: {"first": getattr(payment, name), "now": value}
        for name, value in wanted.items()
        if getattr(payment, name) != value
    }
    if differing:
        raise IdempotencyConflict(
            f"Idempotency key {idempotency_key!r} was used for another charge.",
            {"payment_id": payment.pk, "differs": differing},
        )
    return payment


def _raise_outcome(payment: Payment) -> Payment:
    """The settled payment, or the refusal it ended in, raised again."""
    details = {"payment_id": payment.pk, "order_id": payment.order_id}
    if payment.status == S.DECLINED:
        raise PaymentDeclined(payment.failure_message, details, decline_code=payment.decline_code)
    if payment.status == S.FAILED:
        raise PaymentError(payment.failure_message or "The payment failed.", details)
    return payment


def payment_charge(
    *, order_id: int, amount: int, currency: str, payment_method: str, idempotency_key: str
) -> Payment:
    """Charge once per key: a repeat (same parameters) returns or resumes the same payment.

    Raises PaymentDeclined, PaymentError, PaymentUnavailable (the row is then UNAVAILABLE and
    the same call may be repeated later), IdempotencyConflict and InvalidRequest.
    """
    _validate_charge(
        order_id=order_id,
        amount=amount,
        currency=currency,
        payment_method=payment_method,
        idempotency_key=idempotency_key,
    )
    payment = _payment_for_key(
        order_id=order_id,
        amount=amount,
        currency=currency.upper(),
        payment_method=payment_method,
        idempotency_key=idempotency_key,
    )
    if payment.status not in (S.PENDING, S.UNAVAILABLE):
        return _raise_outcome(payment)
    try:
        payment = _payment_settle(payment)
    except PaymentUnavailable as exc:
        payment = payment_advance(
            payment.pk,
            S.UNAVAILABLE,
            failure_message=f"Stripe unreachable; charge again with the same key. {exc.message}"[
                :300
            ],
        )
        if payment.status in (S.PENDING, S.UNAVAILABLE):
            exc.details.update(payment_id=payment.pk, order_id=payment.order_id)
            raise
        # a webhook settled it meanwhile
    return _raise_outcome(payment)


def _payment_charged(payment: Payment, intent) -> Payment:
    """A PaymentIntent that took the money (succeeded) or is still taking it (processing)."""
    if intent.status == "processing":
        raise PaymentUnavailable(f"Stripe is still processing {intent.id}.")
    return payment_advance(
        payment.pk,
        S.SUCCEEDED,
        provider_status=intent.status,
        provider_charge_id=intent.latest_charge,
        failure_message="",
    )


def _payment_settle(payment: Payment) -> Payment:
    """Drive the payment's PaymentIntent to an outcome: create it, then confirm it."""
    key = payment.idempotency_key
    try:
        if payment.provider_id:
            intent = stripe_gateway.payment_intent_retrieve(intent_id=payment.provider_id)
        else:
            intent = stripe_gateway.payment_intent_create(
                amount=payment.amount,
                currency=payment.currency,
                metadata={"payment_id": str(payment.pk), "order_id": str(payment.order_id)},
                idempotency_key=stripe_key("pi-create", key),
            )
            # Remembered before confirming, so a resumed charge retrieves instead of creating.
            payment = payment_advance(
                payment.pk, S.PENDING, provider_id=intent.id, provider_status=intent.status
            )
        if intent.status in ("requires_confirmation", "requires_payment_method"):
            intent = stripe_gateway.payment_intent_confirm(
                intent_id=intent.id,
                payment_method=payment.payment_method,
                idempotency_key=stripe_key("pi-confirm", key),
            )
    except PaymentDeclined as exc:
        return payment_advance(
            payment.pk,
            S.DECLINED,
            provider_id=exc.details.get("provider_id", payment.provider_id),
            provider_status=exc.details.get("provider_status", ""),
            decline_code=exc.decline_code or "",
            failure_message=exc.message[:300],
        )
    except (InvalidRequest, IdempotencyConflict, PaymentError) as exc:
        return payment_advance(
            payment.pk, S.FAILED, failure_message=f"Stripe refused: {exc.message}"[:300]
        )
    if intent.status in ("succeeded", "processing"):
        return _payment_charged(payment, intent)
    # requires_action (3-D Secure) and canceled: this flow has no customer to authenticate.
    return payment_advance(
        payment.pk,
        S.FAILED,
        provider_status=intent.status,
        failure_message=f"The PaymentIntent ended in {intent.status}.",
    )


def payment_refresh(*, payment_id: int) -> Payment:
    """Bring an open payment (PENDING or UNAVAILABLE) up to date with what Stripe knows.

    Read-only towards Stripe: it never confirms, so it never takes money. A PaymentIntent that
    Stripe charged makes the payment SUCCEEDED, one it declined DECLINED; otherwise nothing
    was charged and the payment stays open (only `charge()` with its key confirms it). Raises
    PaymentUnavailable when Stripe cannot be asked.
    """
    payment = Payment.objects.using(DB).get(pk=payment_id)
    if payment.status not in (S.PENDING, S.UNAVAILABLE) or not payment.provider_id:
        # Without a PaymentIntent id nothing was confirmed: no money can have moved.
        return payment
    try:
        intent = stripe_gateway.payment_intent_retrieve(intent_id=payment.provider_id)
    except (InvalidRequest, PaymentError):
        return payment
    if intent.status in ("succeeded", "processing"):
        return _payment_charged(payment, intent)
    if intent.status == "requires_payment_method" and intent.decline_code:
        return payment_advance(
            payment.pk,
            S.DECLINED,
            provider_status=intent.status,
            decline_code=intent.decline_code,
            failure_message=intent.failure_message[:300],
        )
    return payment
