"""With real transactions: the payment row is committed before Stripe is called, and two
concurrent charges with one key charge once."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from apps.payment.models import OutboxEvent, Payment
from tests.payment.charges import charge, new_key, new_order_id

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "payment"])


def _in_thread(target, results: list) -> threading.Thread:
    def run():
        try:
            results.append(target())
        except Exception as exc:  # handed to the test, which asserts on it
            results.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_the_row_is_committed_before_stripe_answers(local_stripe):
    # given: Stripe takes a while to confirm
    key = new_key()
    local_stripe.slow_next(1.0, match="/confirm")
    results: list = []
    # when
    thread = _in_thread(lambda: charge(idempotency_key=key), results)
    # then: another connection sees the PENDING row, with its PaymentIntent, while Stripe works
    seen = None
    deadline = time.monotonic() + 5
    while seen is None and time.monotonic() < deadline:
        seen = Payment.objects.filter(idempotency_key=key).exclude(provider_id="").first()
        time.sleep(0.02)
    thread.join(10)
    assert seen is not None and seen.status == Payment.Status.PENDING
    assert results[0].status == Payment.Status.SUCCEEDED


def test_two_concurrent_charges_with_one_key_charge_once(local_stripe):
    # given
    order_id, key = new_order_id(), new_key()
    results: list = []
    # when
    threads = [
        _in_thread(lambda: charge(order_id=order_id, idempotency_key=key), results)
        for _ in range(2)
    ]
    for thread in threads:
        thread.join(15)
    # then
    assert all(isinstance(r, Payment) for r in results), results
    assert {r.pk for r in results} == {Payment.objects.get(idempotency_key=key).pk}
    assert local_stripe.stats()["charges_by_order"][str(order_id)] == 1
    assert OutboxEvent.objects.filter(event_type="payment.succeeded").count() == 1
