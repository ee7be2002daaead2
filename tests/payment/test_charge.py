"""Charges through the services against the local Stripe over HTTP: outcomes, idempotency,
Stripe failing or down."""

from __future__ import annotations

import time

import pytest

from apps.payment.models import OutboxEvent, Payment
from apps.payment.services import state
from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.payment.errors import PaymentDeclined, PaymentError, PaymentUnavailable
from tests.payment.charges import charge, new_key, new_order_id

pytestmark = pytest.mark.django_db(databases=["default", "payment"])


def _events(payment: Payment, event_type: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event_type=event_type, aggregate_id=str(payment.pk)))


def test_a_charge_succeeds_and_stores_stripe_ids(local_stripe):
    # given
    order_id = new_order_id()
    # when
    payment = charge(order_id=order_id, amount=4200, currency="eur")
    # then
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.currency == "EUR"
    assert payment.provider_id.startswith("pi_")
    assert payment.provider_charge_id.startswith("ch_")
    assert payment.provider_status == "succeeded"
    assert local_stripe.stats()["charges_by_order"][str(order_id)] == 1
    [event] = _events(payment, "payment.succeeded")
    assert event.payload == {
        "payment_id": payment.pk,
        "order_id": order_id,
        "amount": 4200,
        "currency": "EUR",
    }


@pytest.mark.parametrize(
    ("payment_method", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
    ],
)
def test_a_declined_card_surfaces_stripes_decline_code(local_stripe, payment_method, decline_code):
    # given
    key = new_key()
    # when
    with pytest.raises(PaymentDeclined) as declined:
        charge(payment_method=payment_method, idempotency_key=key)
    # then
    assert declined.value.decline_code == decline_code
    payment = Payment.objects.get(idempotency_key=key)
    assert payment.status == Payment.Status.DECLINED
    assert payment.decline_code == decline_code
    assert payment.provider_status == "requires_payment_method"
    assert declined.value.details["payment_id"] == payment.pk
    [event] = _events(payment, "payment.declined")
    assert event.payload["decline_code"] == decline_code


def test_a_repeated_decline_is_answered_from_the_row_without_asking_stripe(local_stripe):
    # given
    key = new_key()
    with pytest.raises(PaymentDeclined):
        charge(payment_method="pm_card_chargeDeclined", idempotency_key=key, order_id=77)
    requests = local_stripe.stats()["requests"]
    # when
    with pytest.raises(PaymentDeclined) as again:
        charge(payment_method="pm_card_chargeDeclined", idempotency_key=key, order_id=77)
    # then
    assert again.value.decline_code == "generic_decline"
    assert local_stripe.stats()["requests"] == requests


def test_a_retried_charge_with_the_same_key_charges_once(local_stripe):
    # given
    order_id, key = new_order_id(), new_key()
    first = charge(order_id=order_id, idempotency_key=key)
    # when
    second = charge(order_id=order_id, idempotency_key=key)
    # then
    assert second.pk == first.pk
    assert second.status == Payment.Status.SUCCEEDED
    assert Payment.objects.filter(idempotency_key=key).count() == 1
    assert local_stripe.stats()["charges_by_order"][str(order_id)] == 1
    assert len(_events(first, "payment.succeeded")) == 1


def test_a_lost_answer_is_retried_by_the_sdk_and_stripe_replays_it(local_stripe):
    # given: Stripe charges, then the connection drops before the answer arrives
    order_id, key = new_order_id(), new_key()
    local_stripe.drop_next(after_executing=True, match="/confirm")
    # when
    payment = charge(order_id=order_id, idempotency_key=key)
    # then
    assert payment.status == Payment.Status.SUCCEEDED
    stats = local_stripe.stats()
    assert stats["charges_by_order"][str(order_id)] == 1
    assert stats["by_idempotency_key"][f"pi-confirm:{key}"] == {"executed": 1, "replayed": 1}


def test_a_charge_resumed_after_its_answer_was_lost_charges_once(local_stripe, settings):
    # given: no retries; Stripe charged but the answer was lost, so the outcome is unknown
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    order_id, key = new_order_id(), new_key()
    local_stripe.drop_next(after_executing=True, match="/confirm")
    with pytest.raises(PaymentUnavailable):
        charge(order_id=order_id, idempotency_key=key)
    payment = Payment.objects.get(idempotency_key=key)
    assert payment.status == Payment.Status.UNAVAILABLE
    assert payment.provider_id.startswith("pi_")
    # when: the caller retries later, as the saga does
    resumed = charge(order_id=order_id, idempotency_key=key)
    # then
    assert resumed.pk == payment.pk
    assert resumed.status == Payment.Status.SUCCEEDED
    assert local_stripe.stats()["charges_by_order"][str(order_id)] == 1
    assert len(_events(resumed, "payment.succeeded")) == 1


def test_a_stripe_too_slow_to_answer_is_retried_and_charges_once(local_stripe, settings):
    # given: the first confirmation outlasts the client's timeout, then still executes
    settings.STRIPE_TIMEOUT = 0.3
    order_id, key = new_order_id(), new_key()
    local_stripe.slow_next(1.0, match="/confirm")
    # when
    payment = charge(order_id=order_id, idempotency_key=key)
    time.sleep(1.0)  # let the slow first attempt finish on the server
    # then
    assert payment.status == Payment.Status.SUCCEEDED
    stats = local_stripe.stats()
    assert stats["charges_by_order"][str(order_id)] == 1
    assert stats["by_idempotency_key"][f"pi-confirm:{key}"] == {"executed": 1, "replayed": 1}


def test_the_same_key_with_another_amount_is_refused(local_stripe):
    # given
    order_id, key = new_order_id(), new_key()
    first = charge(order_id=order_id, idempotency_key=key, amount=1000)
    requests = local_stripe.stats()["requests"]
    # when
    with pytest.raises(IdempotencyConflict) as conflict:
        charge(order_id=order_id, idempotency_key=key, amount=2000)
    # then
    assert conflict.value.details["differs"] == {"amount": {"first": 1000, "now": 2000}}
    assert local_stripe.stats()["requests"] == requests
    first.refresh_from_db()
    assert (first.amount, first.status) == (1000, Payment.Status.SUCCEEDED)
    assert local_stripe.stats()["charges_by_order"][str(order_id)] == 1


def test_stripe_down_gives_payment_unavailable_after_bounded_retries_then_resumes_once(
    local_stripe, settings
):
    # given: Stripe's process is gone
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    order_id, key = new_order_id(), new_key()
    local_stripe.stop()
    # when
    started = time.monotonic()
    with pytest.raises(PaymentUnavailable):
        charge(order_id=order_id, idempotency_key=key)
    elapsed = time.monotonic() - started
    # then: the SDK's backoff (0.5 s, then up to 1 s) bounds the wait; the row says what to do
    assert elapsed < 5
    payment = Payment.objects.get(idempotency_key=key)
    assert payment.status == Payment.Status.UNAVAILABLE
    assert "same key" in payment.failure_message
    assert not _events(payment, "payment.succeeded")
    # when: Stripe is back and the caller retries with the same key
    local_stripe.start()
    resumed = charge(order_id=order_id, idempotency_key=key)
    # then
    assert resumed.pk == payment.pk
    assert resumed.status == Payment.Status.SUCCEEDED
    assert local_stripe.stats()["charges_by_order"][str(order_id)] == 1


def test_5xx_answers_are_retried_a_bounded_number_of_times(local_stripe, settings):
    # given: Stripe answers 503 to every try the SDK makes (1 + 2 retries)
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    order_id, key = new_order_id(), new_key()
    injected = local_stripe.stats()["faults_injected"]
    local_stripe.fail_next(3, status=503)
    # when
    with pytest.raises(PaymentUnavailable):
        charge(order_id=order_id, idempotency_key=key)
    # then
    assert local_stripe.stats()["faults_injected"] - injected == 3
    assert Payment.objects.get(idempotency_key=key).status == Payment.Status.UNAVAILABLE
    # and a single 500 is simply retried through
    local_stripe.fail_next(1, status=500)
    assert charge(order_id=order_id, idempotency_key=key).status == Payment.Status.SUCCEEDED
    assert local_stripe.stats()["charges_by_order"][str(order_id)] == 1


def test_an_unknown_payment_method_fails_the_payment(local_stripe):
    # given
    key = new_key()
    # when
    with pytest.raises(PaymentError) as failed:
        charge(payment_method="pm_card_nonsense", idempotency_key=key)
    # then
    assert not isinstance(failed.value, PaymentDeclined)
    payment = Payment.objects.get(idempotency_key=key)
    assert payment.status == Payment.Status.FAILED
    assert "No such PaymentMethod" in payment.failure_message


@pytest.mark.parametrize(
    "bad",
    [
        {"amount": 0},
        {"amount": "12"},
        {"currency": "dollars"},
        {"order_id": -1},
        {"payment_method": ""},
        {"idempotency_key": ""},
    ],
)
def test_invalid_charges_are_refused_before_anything_is_written(local_stripe, bad):
    # given
    requests = local_stripe.stats()["requests"]
    # when
    with pytest.raises(InvalidRequest):
        charge(**bad)
    # then
    assert not Payment.objects.exists()
    assert local_stripe.stats()["requests"] == requests


def test_concurrent_news_never_moves_a_payment_backwards(local_stripe):
    # given
    payment = charge()
    # when: a late "still pending" and a late decline arrive
    state.payment_advance(payment.pk, Payment.Status.PENDING, provider_status="x")
    state.payment_advance(payment.pk, Payment.Status.DECLINED, decline_code="late")
    # then
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.decline_code == ""
