"""The payment service's own events, end to end: real charges against the local Stripe server,
its outbox, the relay, Kafka, the consumer; the aggregates equal the payment database."""

from collections import Counter

import pytest

from apps.analytics.selectors import analytics_summary
from apps.payment import services
from apps.payment.models import Payment, Refund
from ecommerce.contracts.payment.errors import PaymentDeclined
from tests.analytics.streams import consume_until, relay_all
from tests.payment.charges import charge

pytestmark = pytest.mark.django_db(databases="__all__")


def test_charges_declines_and_refunds_reach_the_aggregates(local_stripe, kafka_topics):
    # given: payments made through the payment service
    paid = [charge(amount=1000 + n) for n in range(4)]
    for method in ("pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds"):
        with pytest.raises(PaymentDeclined):
            charge(payment_method=method)
    services.payment_refund(payment_id=paid[0].pk, idempotency_key="refund-a", amount=300)
    # when
    events = relay_all()
    consume_until(lambda s: s.messages >= events)
    # then
    payments = list(Payment.objects.using("payment").all())
    taken = [p for p in payments if p.status != Payment.Status.DECLINED]
    declined = [p for p in payments if p.status == Payment.Status.DECLINED]
    refunded = Refund.objects.using("payment").filter(status=Refund.Status.SUCCEEDED)
    summary = analytics_summary()
    totals = summary["totals"]
    assert totals["payments_succeeded"] == len(taken) == 4
    assert totals["payments_declined"] == len(declined) == 2
    assert totals["payments_refunded"] == refunded.count() == 1
    (usd,) = totals["money"]
    assert usd["captured"] == sum(p.amount for p in taken)
    assert usd["refunded"] == sum(r.amount for r in refunded) == 300
    declines = {r["reason"]: r["count"] for r in summary["payment_declines"]}
    assert declines == Counter(p.decline_code or "unknown" for p in declined)
