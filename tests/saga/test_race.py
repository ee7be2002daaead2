"""Fifty shoppers, ten units: exactly ten orders complete and stock ends at zero, never below."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from apps.order.models import Order
from apps.product.models import Product
from tests.factories import ProductFactory
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_fifty_shoppers_race_for_the_last_ten_units(start_worker, local_stripe):
    # given
    worker = start_worker(concurrency=4)
    product = ProductFactory(stock=10, price=2000)
    clients = [shopper((product.pk, 1))[1] for _ in range(50)]

    def place(index: int) -> int:
        try:
            return checkout(clients[index], f"race-{index}")
        finally:
            connections.close_all()

    # when: all at once
    with ThreadPoolExecutor(max_workers=16) as pool:
        order_ids = list(pool.map(place, range(50)))
    finished = wait_for_orders(order_ids, timeout=120, workers=[worker])
    # then
    outcomes = [(o.status, o.failure_reason) for o in finished]
    assert outcomes.count(("COMPLETED", "")) == 10
    assert outcomes.count(("FAILED", "out_of_stock")) == 40
    assert Product.objects.get(pk=product.pk).stock == 0
    charges = local_stripe.stats()["charges_by_order"]
    assert sum(charges.get(str(o.pk), 0) for o in finished) == 10
    assert Order.objects.filter(status="COMPLETED").count() == 10
