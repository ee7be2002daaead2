"""Stripe's webhook: signed events from the local Stripe, verified by the SDK, applied once,
never moving a payment backwards."""

from __future__ import annotations

import time

import pytest
import stripe
from django.test import Client

from apps.payment import services
from apps.payment.models import OutboxEvent, Payment, StripeEvent
from ecommerce.contracts.payment.errors import PaymentUnavailable
from tests.payment.charges import charge, new_key, new_order_id

pytestmark = pytest.mark.django_db(databases=["default", "payment"])

URL = "/api/payments/stripe/webhook"


def _post(api, payload: bytes, signature: str | None):
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return api.post(URL, data=payload, content_type="application/json", **headers)


def _deliver(api, local_stripe, event_id: str):
    payload, signature = local_stripe.signed_event(event_id)
    return _post(api, payload, signature)


def _event(local_stripe, payment: Payment, event_type: str) -> str:
    [event] = local_stripe.events(type=event_type, payment_intent=payment.provider_id)
    return event["id"]


def _unsettled_payment(local_stripe, settings) -> Payment:
    """A payment Stripe charged but whose answer was lost: UNAVAILABLE here."""
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    key = new_key()
    local_stripe.drop_next(after_executing=True, match="/confirm")
    with pytest.raises(PaymentUnavailable):
        charge(idempotency_key=key)
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    payment = Payment.objects.get(idempotency_key=key)
    assert payment.status == Payment.Status.UNAVAILABLE
    return payment


def test_a_signed_succeeded_event_reconciles_an_unsettled_payment(api, local_stripe, settings):
    # given
    payment = _unsettled_payment(local_stripe, settings)
    event_id = _event(local_stripe, payment, "payment_intent.succeeded")
    # when
    response = _deliver(api, local_stripe, event_id)
    # then
    assert response.status_code == 200
    assert response.json() == {
        "event_id": event_id,
        "type": "payment_intent.succeeded",
        "outcome": "APPLIED",
        "duplicate": False,
    }
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.provider_charge_id.startswith("ch_")
    assert OutboxEvent.objects.filter(event_type="payment.succeeded").count() == 1


@pytest.mark.parametrize("forgery", ["wrong_secret", "stale", "missing", "tampered"])
def test_a_badly_signed_event_is_rejected_and_changes_nothing(api, local_stripe, settings, forgery):
    # given
    payment = _unsettled_payment(local_stripe, settings)
    event_id = _event(local_stripe, payment, "payment_intent.succeeded")
    payload, signature = local_stripe.signed_event(event_id)
    if forgery == "wrong_secret":
        _, signature = local_stripe.signed_event(event_id, secret="whsec_someone_else")
    elif forgery == "stale":
        _, signature = local_stripe.signed_event(event_id, timestamp=int(time.time()) - 3600)
    elif forgery == "missing":
        signature = None
    else:
        payload = payload.replace(b'"succeeded"', b'"succeeded" ', 1)
    # when
    response = _post(api, payload, signature)
    # then: the signature is the sender's credential
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert set(response.json()["error"]) == {"code", "message", "details"}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.UNAVAILABLE
    assert not StripeEvent.objects.exists()
    assert not OutboxEvent.objects.filter(event_type="payment.succeeded").exists()


def test_the_endpoint_needs_no_login_and_no_csrf_token(local_stripe, settings):
    # given: a browser-like client that enforces CSRF, with no session and no token
    payment = _unsettled_payment(local_stripe, settings)
    payload, signature = local_stripe.signed_event(
        _event(local_stripe, payment, "payment_intent.succeeded")
    )
    client = Client(enforce_csrf_checks=True)
    # when
    response = client.post(
        URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    # then
    assert response.status_code == 200
    assert response.json()["outcome"] == "APPLIED"


def test_a_body_that_is_no_event_is_refused(api, local_stripe):
    response = _post(api, b"\xff not json", "t=1,v1=00")
    code = response.json()["error"]["code"]
    assert (response.status_code, code) in {(401, "invalid_signature"), (400, "invalid_request")}


def test_a_duplicate_event_is_a_no_op(api, local_stripe, settings):
    # given
    payment = _unsettled_payment(local_stripe, settings)
    event_id = _event(local_stripe, payment, "payment_intent.succeeded")
    _deliver(api, local_stripe, event_id)
    # when
    response = _deliver(api, local_stripe, event_id)
    # then
    assert response.status_code == 200
    assert response.json()["duplicate"] is True
    assert StripeEvent.objects.filter(event_id=event_id).count() == 1
    assert OutboxEvent.objects.filter(event_type="payment.succeeded").count() == 1


def test_a_late_succeeded_event_does_not_undo_a_refund(api, local_stripe):
    # given: charged and fully refunded through the API; the webhooks come afterwards
    payment = charge(amount=900)
    services.payment_refund(payment_id=payment.pk, idempotency_key=new_key("r"))
    # when
    refunded = _deliver(api, local_stripe, _event(local_stripe, payment, "charge.refunded"))
    succeeded = _deliver(
        api, local_stripe, _event(local_stripe, payment, "payment_intent.succeeded")
    )
    # then
    assert refunded.json()["outcome"] == "STALE"
    assert succeeded.json()["outcome"] == "STALE"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.REFUNDED, 900)
    assert OutboxEvent.objects.filter(event_type="payment.refunded").count() == 1
    assert OutboxEvent.objects.filter(event_type="payment.succeeded").count() == 1


def test_a_refund_event_before_the_success_event_settles_both(api, local_stripe, settings):
    # given: the charge's answer was lost, then the payment was refunded at Stripe directly
    payment = _unsettled_payment(local_stripe, settings)
    stripe.StripeClient(
        local_stripe.api_key, base_addresses={"api": local_stripe.base_url}
    ).v1.refunds.create(params={"payment_intent": payment.provider_id, "amount": 250})
    # when: charge.refunded arrives first, payment_intent.succeeded after it
    first = _deliver(api, local_stripe, _event(local_stripe, payment, "charge.refunded"))
    late = _deliver(api, local_stripe, _event(local_stripe, payment, "payment_intent.succeeded"))
    # then
    assert first.json()["outcome"] == "APPLIED"
    assert late.json()["outcome"] == "STALE"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.PARTIALLY_REFUNDED, 250)
    refund = payment.refunds.get()
    assert refund.provider_id.startswith("re_")
    assert OutboxEvent.objects.filter(event_type="payment.succeeded").count() == 1
    assert OutboxEvent.objects.filter(event_type="payment.refunded").count() == 1


def test_a_failed_event_declines_only_an_unsettled_payment(api, local_stripe, settings):
    # given: a decline whose answer was lost
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    key = new_key()
    local_stripe.drop_next(after_executing=True, match="/confirm")
    with pytest.raises(PaymentUnavailable):
        charge(idempotency_key=key, payment_method="pm_card_chargeDeclinedInsufficientFunds")
    payment = Payment.objects.get(idempotency_key=key)
    event_id = _event(local_stripe, payment, "payment_intent.payment_failed")
    # when
    response = _deliver(api, local_stripe, event_id)
    # then
    assert response.json()["outcome"] == "APPLIED"
    payment.refresh_from_db()
    assert (payment.status, payment.decline_code) == (
        Payment.Status.DECLINED,
        "insufficient_funds",
    )
    [declined] = OutboxEvent.objects.filter(event_type="payment.declined")
    assert declined.payload["decline_code"] == "insufficient_funds"


def test_an_event_for_a_payment_not_ours_is_acknowledged(api, local_stripe):
    # given: a PaymentIntent made at Stripe by someone else
    client = stripe.StripeClient(
        local_stripe.api_key, base_addresses={"api": local_stripe.base_url}
    )
    intent = client.v1.payment_intents.create(
        params={"amount": 500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    [event] = local_stripe.events(type="payment_intent.succeeded", payment_intent=intent.id)
    # when
    response = _deliver(api, local_stripe, event["id"])
    # then
    assert response.status_code == 200
    assert response.json()["outcome"] == "UNKNOWN_PAYMENT"
    assert not Payment.objects.exists()


@pytest.mark.django_db(transaction=True, databases=["default", "payment"])
def test_stripe_delivers_signed_events_over_http_and_they_reconcile(live_server, local_stripe):
    # given: the local Stripe posts its webhooks to the running edge
    local_stripe.set_webhook_url(live_server.url + URL)
    order_id = new_order_id()
    # when
    payment = charge(order_id=order_id, amount=700)
    services.payment_refund(payment_id=payment.pk, idempotency_key=new_key("r"), amount=200)
    # then: both events arrive, verify and are recorded
    deadline = time.monotonic() + 10
    while StripeEvent.objects.filter(payment=payment).count() < 2:
        assert time.monotonic() < deadline, local_stripe.events(payment_intent=payment.provider_id)
        time.sleep(0.05)
    recorded = set(StripeEvent.objects.filter(payment=payment).values_list("event_type", flat=True))
    assert recorded == {"payment_intent.succeeded", "charge.refunded"}
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.PARTIALLY_REFUNDED, 200)
    deliveries = [
        d for e in local_stripe.events(payment_intent=payment.provider_id) for d in e["deliveries"]
    ]
    assert deliveries and all(d["status"] == 200 for d in deliveries)
