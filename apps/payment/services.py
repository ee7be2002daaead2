"""Writes to payments: charges, refunds and Stripe's webhook events, each idempotent.

A charge or refund row is committed before Stripe is called, and Stripe's idempotency key is
derived from the row's key, so a retried, resumed or concurrent call reaches the same Stripe
object and money moves at most once. State only moves forward (see `_RANK`), whichever of the
API answer and the webhook events arrives first.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.payment import stripe_gateway
from apps.payment.models import OutboxEvent, Payment, Refund, StripeEvent
from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.keys import key_check
from ecommerce.contracts.payment.errors import (
    PaymentDeclined,
    PaymentError,
    PaymentNotFound,
    PaymentUnavailable,
)
from ecommerce.contracts.payment.events import (
    ChargeDeclined,
    ChargeSucceeded,
    PaymentEvent,
    PaymentRefunded,
)
from ecommerce.outbox import emit

DB = "payment"
S = Payment.Status

# How far along a payment is; a change never lowers it. PENDING and UNAVAILABLE are the same
# "not settled" step; DECLINED and FAILED are refusals that a Stripe success may still overrule.
_RANK = {
    S.PENDING: 0,
    S.UNAVAILABLE: 0,
    S.DECLINED: 1,
    S.FAILED: 1,
    S.SUCCEEDED: 2,
    S.PARTIALLY_REFUNDED: 3,
    S.REFUNDED: 4,
}
_CHARGED = (S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED)
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def _stripe_key(kind: str, key: str) -> str:
    """Stripe's idempotency key for one step of our operation `key` (at most 255 characters)."""
    return f"{kind}:{key}"


def _validate_key(idempotency_key: Any) -> None:
    key_check(idempotency_key, name="idempotency_key")


def _validate_charge(
    *, order_id: Any, amount: Any, currency: Any, payment_method: Any, idempotency_key: Any
) -> None:
    errors: dict[str, list[str]] = {}
    if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id < 1:
        errors["order_id"] = ["A positive integer."]
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        errors["amount"] = ["A positive integer in minor units."]
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        errors["currency"] = ["An ISO 4217 code such as USD."]
    if not isinstance(payment_method, str) or not 1 <= len(payment_method) <= 100:
        errors["payment_method"] = ["A Stripe PaymentMethod id such as pm_card_visa."]
    if errors:
        raise InvalidRequest("The charge is not valid.", errors)
    _validate_key(idempotency_key)


def _emit(event: type[PaymentEvent], payment: Payment, **fields: Any) -> None:
    """`event` about `payment`; `fields` adds to (or, for a refund's amount, replaces) its own."""
    fields = {
        "payment_id": payment.pk,
        "order_id": payment.order_id,
        "amount": payment.amount,
        "currency": payment.currency,
        **fields,
    }
    emit(OutboxEvent, event(**fields), using=DB)


def _locked(payment_id: int) -> Payment:
    return Payment.objects.using(DB).select_for_update().get(pk=payment_id)


def _payment_advance(payment_id: int, status: str, **fields: Any) -> Payment:
    """Move a payment forward to `status` with its Stripe fields, emitting the matching event.

    Older news (a lower rank) changes nothing but Stripe ids still missing; news of the same
    rank refreshes the fields. Returns the row as it now is.
    """
    with transaction.atomic(using=DB):
        payment = _locked(payment_id)
        current = payment.status
        rank, current_rank = _RANK[status], _RANK[current]
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
            _emit(ChargeSucceeded, payment)
        elif payment.status != current and payment.status == S.DECLINED:
            _emit(ChargeDeclined, payment, decline_code=payment.decline_code)
        return payment


# -- charges -----------------------------------------------------------------------------------


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
        with transaction.atomic(using=DB):
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
        payment = _payment_advance(
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
    return _payment_advance(
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
                idempotency_key=_stripe_key("pi-create", key),
            )
            # Remembered before confirming, so a resumed charge retrieves instead of creating.
            payment = _payment_advance(
                payment.pk, S.PENDING, provider_id=intent.id, provider_status=intent.status
            )
        if intent.status in ("requires_confirmation", "requires_payment_method"):
            intent = stripe_gateway.payment_intent_confirm(
                intent_id=intent.id,
                payment_method=payment.payment_method,
                idempotency_key=_stripe_key("pi-confirm", key),
            )
    except PaymentDeclined as exc:
        return _payment_advance(
            payment.pk,
            S.DECLINED,
            provider_id=exc.details.get("provider_id", payment.provider_id),
            provider_status=exc.details.get("provider_status", ""),
            decline_code=exc.decline_code or "",
            failure_message=exc.message[:300],
        )
    except (InvalidRequest, IdempotencyConflict, PaymentError) as exc:
        return _payment_advance(
            payment.pk, S.FAILED, failure_message=f"Stripe refused: {exc.message}"[:300]
        )
    if intent.status in ("succeeded", "processing"):
        return _payment_charged(payment, intent)
    # requires_action (3-D Secure) and canceled: this flow has no customer to authenticate.
    return _payment_advance(
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
        return _payment_advance(
            payment.pk,
            S.DECLINED,
            provider_status=intent.status,
            decline_code=intent.decline_code,
            failure_message=intent.failure_message[:300],
        )
    return payment


def payments_reconcile(*, older_than: timedelta, limit: int = 200) -> Counter:
    """Settle payments left open for longer than `older_than` (e.g. after a crash between the
    commit and Stripe's answer) from what Stripe knows; see `payment_refresh`. What is still
    open afterwards ends UNAVAILABLE, which its caller resumes by charging again with the same
    key. Returns how many ended in each state.
    """
    counts: Counter = Counter()
    cutoff = timezone.now() - older_than
    stale = Payment.objects.using(DB).filter(
        status__in=(S.PENDING, S.UNAVAILABLE), updated_at__lt=cutoff
    )
    for payment in stale.order_by("pk")[:limit]:
        try:
            payment = payment_refresh(payment_id=payment.pk)
            message = (
                "Interrupted before Stripe settled it; nothing was charged. "
                "Charge again with the same key to resume."
            )
        except PaymentUnavailable:
            message = "Stripe unreachable; charge again with the same key."
        if payment.status in (S.PENDING, S.UNAVAILABLE):
            payment = _payment_advance(payment.pk, S.UNAVAILABLE, failure_message=message)
        counts[payment.status] += 1
    return counts


# -- refunds -----------------------------------------------------------------------------------


def _refunded_total(payment: Payment) -> int:
    total = payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"]
    return total or 0


def _refund_succeeded(refund_id: int, *, provider_id: str, provider_status: str) -> Refund:
    """Record a refund Stripe made; the payment's refunded amount is the sum of such refunds."""
    with transaction.atomic(using=DB):
        payment_id = Refund.objects.using(DB).values_list("payment_id", flat=True).get(pk=refund_id)
        payment = _locked(payment_id)
        refund = Refund.objects.using(DB).select_for_update().get(pk=refund_id)
        if refund.status == Refund.Status.SUCCEEDED:
            return refund
        refund.status = Refund.Status.SUCCEEDED
        refund.provider_id = provider_id
        refund.provider_status = provider_status
        refund.failure_message = ""
        refund.save()
        _payment_sync_refunds(payment)
        _emit(
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
    elif payment.refunded_amount > 0 and _RANK[payment.status] <= _RANK[S.PARTIALLY_REFUNDED]:
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
    _validate_key(idempotency_key)
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
        if payment.status not in _CHARGED:
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
            idempotency_key=_stripe_key("refund", refund.idempotency_key),
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
    return _refund_succeeded(refund.pk, provider_id=made.id, provider_status=made.status)


# -- webhooks ----------------------------------------------------------------------------------


def _payment_for_object(intent_id: str, metadata: dict) -> Payment | None:
    payment = Payment.objects.using(DB).filter(provider_id=intent_id).first() if intent_id else None
    if payment is None and str(metadata.get("payment_id", "")).isdigit():
        payment = (
            Payment.objects.using(DB)
            .filter(pk=int(metadata["payment_id"]), provider_id__in=("", intent_id))
            .first()
        )
    return payment


def _on_intent_succeeded(intent: dict, payment: Payment) -> str:
    before = payment.status
    after = _payment_advance(
        payment.pk,
        S.SUCCEEDED,
        provider_id=intent["id"],
        provider_status="succeeded",
        provider_charge_id=intent.get("latest_charge") or "",
        failure_message="",
    )
    return StripeEvent.Outcome.APPLIED if after.status != before else StripeEvent.Outcome.STALE


def _on_intent_failed(intent: dict, payment: Payment) -> str:
    if payment.status not in (S.PENDING, S.UNAVAILABLE):
        return StripeEvent.Outcome.STALE
    error = intent.get("last_payment_error") or {}
    _payment_advance(
        payment.pk,
        S.DECLINED,
        provider_id=intent["id"],
        provider_status=intent.get("status", ""),
        decline_code=error.get("decline_code") or error.get("code") or "card_declined",
        failure_message=(error.get("message") or "The payment was declined.")[:300],
    )
    return StripeEvent.Outcome.APPLIED


def _on_charge_refunded(charge: dict, payment: Payment) -> str:
    # A refund proves the charge succeeded, even if that news has not arrived yet.
    outcome = StripeEvent.Outcome.STALE
    if _RANK[payment.status] < _RANK[S.SUCCEEDED]:
        _payment_advance(
            payment.pk,
            S.SUCCEEDED,
            provider_id=charge.get("payment_intent") or "",
            provider_status="succeeded",
            provider_charge_id=charge.get("id", ""),
            failure_message="",
        )
        outcome = StripeEvent.Outcome.APPLIED
    for made in (charge.get("refunds") or {}).get("data") or []:
        refund = Refund.objects.using(DB).filter(provider_id=made["id"]).first()
        ours = str((made.get("metadata") or {}).get("refund_id", ""))
        if refund is None and ours.isdigit():
            refund = Refund.objects.using(DB).filter(pk=int(ours), payment_id=payment.pk).first()
        if refund is None:
            # Refunded outside this service (e.g. in Stripe's dashboard): recorded all the same.
            refund = Refund.objects.using(DB).create(
                payment=payment,
                amount=made["amount"],
                idempotency_key=_stripe_key("stripe", made["id"]),
                status=Refund.Status.PENDING,
            )
        if refund.status != Refund.Status.SUCCEEDED and made.get("status") == "succeeded":
            _refund_succeeded(refund.pk, provider_id=made["id"], provider_status=made["status"])
            outcome = StripeEvent.Outcome.APPLIED
    return outcome


_HANDLERS = {
    "payment_intent.succeeded": _on_intent_succeeded,
    "payment_intent.payment_failed": _on_intent_failed,
    "charge.refunded": _on_charge_refunded,
}


def stripe_event_apply(*, payload: bytes, signature: str) -> tuple[StripeEvent, bool]:
    """Verify, record and apply one webhook event. Returns (event, is_new); an event already
    recorded changes nothing. Raises WebhookSignatureInvalid or InvalidRequest, changing nothing.
    """
    event = stripe_gateway.webhook_event(payload=payload, signature=signature)
    obj = event["data"]["object"]
    event_type = event["type"]
    intent_id = (
        obj.get("id", "")
        if obj.get("object") == "payment_intent"
        else obj.get("payment_intent", "")
    )
    created = event.get("created")
    stripe_created = datetime.fromtimestamp(created if isinstance(created, int) else 0, tz=UTC)
    existing = StripeEvent.objects.using(DB).filter(event_id=event["id"]).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic(using=DB):
            handler = _HANDLERS.get(event_type)
            payment = _payment_for_object(intent_id or "", obj.get("metadata") or {})
            if handler is None:
                outcome = StripeEvent.Outcome.IGNORED
            elif payment is None:
                outcome = StripeEvent.Outcome.UNKNOWN_PAYMENT
            else:
                outcome = handler(obj, payment)
            record = StripeEvent.objects.using(DB).create(
                event_id=event["id"],
                event_type=event_type,
                provider_id=obj.get("id", ""),
                payment=payment,
                outcome=outcome,
                payload=event,
                stripe_created=stripe_created,
            )
            return record, True
    except IntegrityError:
        # The same event, delivered twice at once: the other delivery applied it.
        return StripeEvent.objects.using(DB).get(event_id=event["id"]), False
