"""Refunds through the services against the local Stripe: full, partial, too much, once per key."""

from __future__ import annotations

import pytest
import stripe

from apps.payment import services
from apps.payment.models import OutboxEvent, Payment, Refund
from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.payment.errors import PaymentDeclined, PaymentNotFound, PaymentUnavailable
from tests.payment.charges import charge, new_key

pytestmark = pytest.mark.django_db(databases=["default", "payment"])


def test_a_full_refund_returns_everything(local_stripe):
    # given
    payment = charge(amount=2500)
    before = local_stripe.stats()["amount_refunded"]
    # when
    refund = services.payment_refund(payment_id=payment.pk, idempotency_key=new_key("refund"))
    # then
    assert (refund.status, refund.amount) == (Refund.Status.SUCCEEDED, 2500)
    assert refund.provider_id.startswith("re_")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.REFUNDED, 2500)
    assert local_stripe.stats()["amount_refunded"] - before == 2500
    [event] = OutboxEvent.objects.filter(event_type="payment.refunded")
    assert event.payload["amount"] == 2500
    assert event.payload["refund_id"] == refund.pk


def test_partial_refunds_add_up_to_a_full_one(local_stripe):
    # given
    payment = charge(amount=1000)
    # when
    services.payment_refund(payment_id=payment.pk, idempotency_key=new_key("r"), amount=300)
    payment.refresh_from_db()
    partly = (payment.status, payment.refunded_amount)
    services.payment_refund(payment_id=payment.pk, idempotency_key=new_key("r"))
    # then
    assert partly == (Payment.Status.PARTIALLY_REFUNDED, 300)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.REFUNDED, 1000)
    assert sorted(payment.refunds.values_list("amount", flat=True)) == [300, 700]


def test_a_refund_beyond_what_remains_is_refused_and_changes_nothing(local_stripe):
    # given
    payment = charge(amount=1000)
    services.payment_refund(payment_id=payment.pk, idempotency_key=new_key("r"), amount=600)
    refunds_at_stripe = local_stripe.stats()["refunds_created"]
    # when
    with pytest.raises(InvalidRequest) as refused:
        services.payment_refund(payment_id=payment.pk, idempotency_key=new_key("r"), amount=401)
    # then
    assert refused.value.details["refundable"] == 400
    assert payment.refunds.count() == 1
    assert local_stripe.stats()["refunds_created"] == refunds_at_stripe
    payment.refresh_from_db()
    assert payment.refunded_amount == 600


def test_nothing_is_left_to_refund_after_a_full_refund(local_stripe):
    # given
    payment = charge()
    services.payment_refund(payment_id=payment.pk, idempotency_key=new_key("r"))
    # when / then
    with pytest.raises(InvalidRequest):
        services.payment_refund(payment_id=payment.pk, idempotency_key=new_key("r"))


def test_stripe_itself_refuses_a_refund_beyond_the_charge(local_stripe):
    # given: part of the charge was refunded at Stripe directly, and no webhook told us yet
    payment = charge(amount=1000)
    client = stripe.StripeClient(
        local_stripe.api_key, base_addresses={"api": local_stripe.base_url}
    )
    client.v1.refunds.create(params={"payment_intent": payment.provider_id, "amount": 900})
    # when: we believe all 1000 is refundable
    with pytest.raises(InvalidRequest) as refused:
        services.payment_refund(payment_id=payment.pk, idempotency_key=new_key("r"))
    # then: Stripe said no, the refund is recorded as failed and nothing counts as refunded
    assert refused.value.details["stripe_code"] == "amount_too_large"
    refund = payment.refunds.get()
    assert refund.status == Refund.Status.FAILED
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.SUCCEEDED, 0)


def test_a_repeated_refund_with_the_same_key_refunds_once(local_stripe):
    # given
    payment = charge(amount=1000)
    key = new_key("refund")
    before = local_stripe.stats()["refunds_created"]
    first = services.payment_refund(payment_id=payment.pk, idempotency_key=key, amount=250)
    # when
    again = services.payment_refund(payment_id=payment.pk, idempotency_key=key, amount=250)
    # then
    assert again.pk == first.pk
    assert local_stripe.stats()["refunds_created"] - before == 1
    payment.refresh_from_db()
    assert payment.refunded_amount == 250
    assert OutboxEvent.objects.filter(event_type="payment.refunded").count() == 1


def test_a_refund_key_reused_for_another_amount_is_refused(local_stripe):
    # given
    payment = charge(amount=1000)
    key = new_key("refund")
    services.payment_refund(payment_id=payment.pk, idempotency_key=key, amount=250)
    # when / then
    with pytest.raises(IdempotencyConflict):
        services.payment_refund(payment_id=payment.pk, idempotency_key=key, amount=300)


def test_a_refund_while_stripe_is_down_is_resumed_once(local_stripe, settings):
    # given
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    payment = charge(amount=1000)
    key = new_key("refund")
    local_stripe.fail_next(2, status=503, match="/v1/refunds")
    before = local_stripe.stats()["refunds_created"]
    with pytest.raises(PaymentUnavailable):
        services.payment_refund(payment_id=payment.pk, idempotency_key=key)
    assert Refund.objects.get(idempotency_key=key).status == Refund.Status.UNAVAILABLE
    # when
    refund = services.payment_refund(payment_id=payment.pk, idempotency_key=key)
    # then
    assert refund.status == Refund.Status.SUCCEEDED
    assert local_stripe.stats()["refunds_created"] - before == 1


def test_a_declined_or_unknown_payment_cannot_be_refunded(local_stripe):
    # given
    key = new_key()
    with pytest.raises(PaymentDeclined):
        charge(payment_method="pm_card_chargeDeclined", idempotency_key=key)
    declined = Payment.objects.get(idempotency_key=key)
    # when / then
    with pytest.raises(InvalidRequest):
        services.payment_refund(payment_id=declined.pk, idempotency_key=new_key("r"))
    with pytest.raises(PaymentNotFound):
        services.payment_refund(payment_id=declined.pk + 1000, idempotency_key=new_key("r"))
    assert not Refund.objects.exists()
