"""Payments left open by a crash or an outage are settled from what Stripe knows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from apps.payment import services
from apps.payment.models import OutboxEvent, Payment
from ecommerce.contracts.payment.errors import PaymentUnavailable
from tests.payment.charges import PaymentFactory, charge, new_key, new_order_id

pytestmark = pytest.mark.django_db(databases=["default", "payment"])

NOW = timedelta(0)


def _lost_answer(local_stripe, settings, payment_method: str = "pm_card_visa") -> Payment:
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    key = new_key()
    local_stripe.drop_next(after_executing=True, match="/confirm")
    with pytest.raises(PaymentUnavailable):
        charge(idempotency_key=key, payment_method=payment_method)
    return Payment.objects.get(idempotency_key=key)


def test_a_charge_stripe_made_is_recorded_without_charging_again(local_stripe, settings):
    # given
    payment = _lost_answer(local_stripe, settings)
    confirmations = local_stripe.stats()["confirmations"]
    # when
    counts = services.payments_reconcile(older_than=NOW)
    # then
    assert counts["SUCCEEDED"] == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert local_stripe.stats()["confirmations"] == confirmations
    assert OutboxEvent.objects.filter(event_type="payment.succeeded").count() == 1


def test_a_decline_stripe_made_is_recorded(local_stripe, settings):
    payment = _lost_answer(local_stripe, settings, "pm_card_chargeDeclinedExpiredCard")
    services.payments_reconcile(older_than=NOW)
    payment.refresh_from_db()
    assert (payment.status, payment.decline_code) == (Payment.Status.DECLINED, "expired_card")


def test_a_charge_interrupted_before_stripe_becomes_unavailable_and_resumes(local_stripe):
    # given: the process died right after committing the row
    payment = PaymentFactory()
    requests = local_stripe.stats()["requests"]
    # when
    call_command("reconcile_payments", "--older-than", "0")
    # then: a clear state, and Stripe was not asked to charge anything
    payment.refresh_from_db()
    assert payment.status == Payment.Status.UNAVAILABLE
    assert "same key" in payment.failure_message
    assert local_stripe.stats()["requests"] == requests
    # and the caller's retry resumes it
    resumed = charge(
        order_id=payment.order_id, idempotency_key=payment.idempotency_key, amount=payment.amount
    )
    assert (resumed.pk, resumed.status) == (payment.pk, Payment.Status.SUCCEEDED)


def test_recent_and_settled_payments_are_left_alone(local_stripe):
    fresh = PaymentFactory()
    settled = charge(order_id=new_order_id())
    counts = services.payments_reconcile(older_than=timedelta(minutes=5))
    assert not counts
    fresh.refresh_from_db()
    assert fresh.status == Payment.Status.PENDING
    settled.refresh_from_db()
    assert settled.status == Payment.Status.SUCCEEDED
