"""Real checkouts, end to end: the saga (a real Celery worker, the local Stripe server) writes
the order and payment events; relay, Kafka and the consumer bring them to the aggregates, which
equal what the order, payment and cart databases say."""

import pytest

from apps.product.models import Product
from tests.analytics import shop
from tests.analytics.streams import consume_until, relay_all
from tests.factories import ProductFactory
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]


def test_checkouts_through_the_saga_reach_the_aggregates_exactly(start_worker, kafka_topics):
    # given
    worker = start_worker()
    mug, cup = ProductFactory(stock=50, price=1200), ProductFactory(stock=50, price=450)
    scarce = ProductFactory(stock=1, price=900)
    plans = [
        ([(mug.pk, 2)], "pm_card_visa"),
        ([(mug.pk, 1), (cup.pk, 3)], "pm_card_visa"),
        ([(cup.pk, 1)], "pm_card_visa"),
        ([(mug.pk, 1)], "pm_card_chargeDeclined"),
        ([(cup.pk, 2)], "pm_card_chargeDeclinedInsufficientFunds"),
        ([(scarce.pk, 1)], "pm_card_visa"),
    ]
    clients = [(shopper(*items)[1], method) for items, method in plans]
    shopper((cup.pk, 1))  # a cart that never checks out
    Product.objects.filter(pk=scarce.pk).update(stock=0)  # sold elsewhere meanwhile
    # when
    order_ids = [
        checkout(client, f"analytics-{n}", method) for n, (client, method) in enumerate(clients)
    ]
    orders = wait_for_orders(order_ids, workers=[worker])
    published = relay_all()
    consume_until(lambda s: s.messages >= published)
    # then
    assert sorted(o.status for o in orders) == ["COMPLETED"] * 3 + ["FAILED"] * 3
    expected = shop.truth()
    assert expected["orders_failed"] == 3
    assert sum(expected["saga_step_failures"].values()) == 3
    shop.assert_aggregates_match(expected, per_minute=False)
