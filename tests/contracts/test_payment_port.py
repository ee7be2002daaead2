"""The PaymentPort contract: both adapters answer alike, against the local Stripe over HTTP."""

import pytest

from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.payment.errors import (
    PaymentDeclined,
    PaymentNotFound,
    WebhookSignatureInvalid,
)
from tests.payment.charges import new_key, port_charge

pytestmark = pytest.mark.django_db(databases=["default", "payment"], transaction=True)


def test_a_charge_is_made_once_per_key_and_found_by_it(port_for, local_stripe):
    # given
    port = port_for("payment")
    key = new_key()
    # when
    payment = port_charge(port, amount=4200, currency="EUR", idempotency_key=key)
    again = port_charge(
        port, order_id=payment.order_id, amount=4200, currency="EUR", idempotency_key=key
    )
    # then
    assert payment == again
    assert (payment.status, payment.amount, payment.currency) == ("SUCCEEDED", 4200, "EUR")
    assert payment.provider_id.startswith("pi_")
    assert payment.created_at.tzinfo is not None
    assert port.get(payment_id=payment.id) == payment
    assert port.find_by_idempotency_key(idempotency_key=key) == payment
    assert port.find_by_idempotency_key(idempotency_key=new_key()) is None
    with pytest.raises(IdempotencyConflict):
        port_charge(port, order_id=payment.order_id, amount=1, currency="EUR", idempotency_key=key)


def test_a_decline_and_an_unknown_payment_raise_the_domain_errors(port_for, local_stripe):
    # given
    port = port_for("payment")
    # when
    with pytest.raises(PaymentDeclined) as declined:
        port_charge(port, payment_method="pm_card_chargeDeclinedInsufficientFunds")
    # then
    assert declined.value.decline_code == "insufficient_funds"
    assert declined.value.details["decline_code"] == "insufficient_funds"
    with pytest.raises(PaymentNotFound):
        port.get(payment_id=10**12)


def test_refunds_whole_or_partial_once_per_key(port_for, local_stripe):
    # given
    port = port_for("payment")
    payment = port_charge(port, amount=1000)
    key = new_key("refund")
    # when
    partial = port.refund(payment_id=payment.id, idempotency_key=key, amount=300)
    repeated = port.refund(payment_id=payment.id, idempotency_key=key, amount=300)
    rest = port.refund(payment_id=payment.id, idempotency_key=new_key("refund"))
    # then
    assert partial == repeated
    assert (partial.amount, partial.currency, partial.status) == (300, "USD", "SUCCEEDED")
    assert rest.amount == 700
    assert port.get(payment_id=payment.id).status == "REFUNDED"
    with pytest.raises(InvalidRequest):
        port.refund(payment_id=payment.id, idempotency_key=new_key("refund"), amount=1)


def test_a_webhook_with_a_bad_signature_is_refused(port_for, local_stripe):
    # when / then
    with pytest.raises(WebhookSignatureInvalid):
        port_for("payment").webhook_apply(payload=b'{"id": "evt_1"}', signature="t=1,v1=00")
