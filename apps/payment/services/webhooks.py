"""Stripe's webhook events: verified, recorded once each by event id, and applied to the payment
or refund they name, in whatever order they arrive.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import IntegrityError, transaction

from apps.payment import stripe_gateway
from apps.payment.models import Payment, Refund, StripeEvent
from apps.payment.services.refunds import refund_succeeded
from apps.payment.services.state import DB, RANK, S, payment_advance, stripe_key


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
    after = payment_advance(
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
    payment_advance(
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
    if RANK[payment.status] < RANK[S.SUCCEEDED]:
        payment_advance(
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
                idempotency_key=stripe_key("stripe", made["id"]),
                status=Refund.Status.PENDING,
            )
        if refund.status != Refund.Status.SUCCEEDED and made.get("status") == "succeeded":
            refund_succeeded(refund.pk, provider_id=made["id"], provider_status=made["status"])
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
