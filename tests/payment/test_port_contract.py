"""The payment port as callers see it (through the resolver): DTOs and domain errors only."""

from __future__ import annotations

import pytest

from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.payment.errors import (
    PaymentDeclined,
    PaymentNotFound,
    PaymentUnavailable,
    WebhookSignatureInvalid,
)
from ecommerce.contracts.payment.port import PaymentData, PaymentPort, RefundData, WebhookReceipt
from ecommerce.wiring import resolver
from tests.payment.charges import new_key, new_order_id, port_charge

pytestmark = pytest.mark.django_db(databases=["default", "payment"])


def _charge(port, **overrides) -> PaymentData:
    return port_charge(port, **({"amount": 1999} | overrides))


def test_the_resolver_hands_out_a_payment_port(local_stripe):
    assert isinstance(resolver.payment(), PaymentPort)


def test_charge_get_and_find_answer_the_same_payment(local_stripe):
    # given
    port = resolver.payment()
    key = new_key()
    # when
    charged = _charge(port, idempotency_key=key)
    # then
    assert isinstance(charged, PaymentData)
    assert (charged.status, charged.amount, charged.currency) == ("SUCCEEDED", 1999, "USD")
    assert charged.provider_id.startswith("pi_")
    assert port.get(payment_id=charged.id) == charged
    assert port.find_by_idempotency_key(idempotency_key=key) == charged
    assert port.find_by_idempotency_key(idempotency_key=new_key()) is None


def test_a_repeat_returns_the_same_dto(local_stripe):
    port = resolver.payment()
    key, order_id = new_key(), new_order_id()
    first = _charge(port, idempotency_key=key, order_id=order_id)
    assert _charge(port, idempotency_key=key, order_id=order_id) == first
    with pytest.raises(IdempotencyConflict):
        _charge(port, idempotency_key=key, order_id=order_id, amount=1)


def test_refunds_answer_refund_dtos(local_stripe):
    # given
    port = resolver.payment()
    charged = _charge(port, amount=1000)
    # when
    part = port.refund(payment_id=charged.id, idempotency_key=new_key("r"), amount=400)
    rest = port.refund(payment_id=charged.id, idempotency_key=new_key("r"))
    # then
    assert isinstance(part, RefundData)
    assert (part.amount, part.status, part.currency) == (400, "SUCCEEDED", "USD")
    assert rest.amount == 600
    after = port.get(payment_id=charged.id)
    assert (after.status, after.refunded_amount) == ("REFUNDED", 1000)
    with pytest.raises(InvalidRequest):
        port.refund(payment_id=charged.id, idempotency_key=new_key("r"), amount=1)


def test_errors_are_the_domain_ones(local_stripe):
    port = resolver.payment()
    with pytest.raises(PaymentDeclined) as declined:
        _charge(port, payment_method="pm_card_chargeDeclinedInsufficientFunds")
    assert declined.value.decline_code == "insufficient_funds"
    assert declined.value.code == "payment_declined"
    with pytest.raises(PaymentNotFound):
        port.get(payment_id=987654321)
    with pytest.raises(PaymentNotFound):
        port.refund(payment_id=987654321, idempotency_key=new_key("r"))
    with pytest.raises(WebhookSignatureInvalid):
        port.webhook_apply(payload=b"{}", signature="t=1,v1=bad")


def test_unavailable_then_the_same_call_succeeds(local_stripe, settings):
    # given
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    port = resolver.payment()
    params = {"idempotency_key": new_key(), "order_id": new_order_id()}
    local_stripe.fail_next(2, status=502)
    with pytest.raises(PaymentUnavailable) as unavailable:
        _charge(port, **params)
    payment_id = unavailable.value.details["payment_id"]
    assert port.get(payment_id=payment_id).status == "UNAVAILABLE"
    # when
    charged = _charge(port, **params)
    # then
    assert (charged.id, charged.status) == (payment_id, "SUCCEEDED")
    assert local_stripe.stats()["charges_by_order"][str(params["order_id"])] == 1


def test_webhook_apply_answers_a_receipt(local_stripe):
    # given
    port = resolver.payment()
    charged = _charge(port)
    [event] = local_stripe.events(
        type="payment_intent.succeeded", payment_intent=charged.provider_id
    )
    payload, signature = local_stripe.signed_event(event["id"])
    # when
    first = port.webhook_apply(payload=payload, signature=signature)
    again = port.webhook_apply(payload=payload, signature=signature)
    # then
    assert first == WebhookReceipt(event["id"], "payment_intent.succeeded", "STALE", False)
    assert again.duplicate is True


def _charge_whose_answer_is_lost(local_stripe, settings):
    """A charge Stripe made whose answer never arrived (no retry): the port and its key."""
    port = resolver.payment()
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    key = new_key()
    local_stripe.drop_next(after_executing=True, match="/confirm")
    with pytest.raises(PaymentUnavailable):
        _charge(port, idempotency_key=key)
    return port, key


def test_find_asks_stripe_about_a_charge_whose_answer_was_lost(local_stripe, settings):
    # given: Stripe charged, the answer never arrived
    port, key = _charge_whose_answer_is_lost(local_stripe, settings)
    confirmations = local_stripe.stats()["confirmations"]
    # when: a compensating saga asks whether money was taken
    found = port.find_by_idempotency_key(idempotency_key=key)
    # then: yes, so it knows to refund; and nothing was charged again
    assert found.status == "SUCCEEDED"
    assert local_stripe.stats()["confirmations"] == confirmations


def test_find_says_open_and_uncharged_when_stripe_never_confirmed(local_stripe, settings):
    # given: the confirmation never reached Stripe
    port = resolver.payment()
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    key, order_id = new_key(), new_order_id()
    local_stripe.drop_next(match="/confirm")
    with pytest.raises(PaymentUnavailable):
        _charge(port, idempotency_key=key, order_id=order_id)
    # when
    found = port.find_by_idempotency_key(idempotency_key=key)
    # then
    assert found.status == "UNAVAILABLE"
    assert local_stripe.stats()["charges_by_order"].get(str(order_id), 0) == 0


def test_find_cannot_answer_for_an_open_payment_while_stripe_is_down(local_stripe, settings):
    # given
    port, key = _charge_whose_answer_is_lost(local_stripe, settings)
    local_stripe.stop()
    # when / then: "unknown" is not "no money taken"
    with pytest.raises(PaymentUnavailable):
        port.find_by_idempotency_key(idempotency_key=key)
