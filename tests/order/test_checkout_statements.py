"""What a checkout costs in SQL statements, per database and per stage, as the benchmark counts
them (tests/fixtures/statements.py, docs/database.md, "Each stage of a checkout").

In-process, not in the parity suites: the statements counted are this process's. The two API
requests go through Django's test client; every command the checkout sends is handed to its
task's body in the order it was sent (the broker is not what is counted); Stripe is the local
server. BEGIN and COMMIT count, as they are round trips.
"""

from __future__ import annotations

from collections import Counter
from unittest import mock

import pytest

from apps.order import checkout_saga
from apps.order.models import Order
from tests.factories import ProductFactory
from tests.fixtures.remote_phase import remote_phase
from tests.fixtures.statements import checkout_counted, counted
from tests.saga.flows import shopper

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.skipif(remote_phase() is not None, reason="counts this process's statements"),
]


def _one_checkout(client, product_id: int, key: str):
    """Statements by stage (the requests and each task) and by saga step (within the tasks),
    and the order placed."""
    table: dict[str, Counter] = {}
    steps: dict[str, Counter] = {}

    def counting(name, action):
        def run(saga):
            outcome = None

            def call():
                nonlocal outcome
                outcome = action(saga)

            counted(steps, f"step {name}", call)
            return outcome

        return run

    steps_counted = {name: counting(name, action) for name, action in checkout_saga.STEPS.items()}
    with mock.patch.dict(checkout_saga.STEPS, steps_counted):
        order_id = checkout_counted(client, product_id, key, table)
    return table, steps, order_id


def test_a_checkout_costs_39_statements_each_stage_as_counted(local_stripe):
    # given: a shopper whose cart exists (their first checkout made it)
    product = ProductFactory(stock=10, price=1000)
    _, client = shopper()
    _one_checkout(client, product.pk, "statements-first")
    # when: the steady state, one checkout from cart add to completed order
    table, steps, order_id = _one_checkout(client, product.pk, "statements-second")
    # then: the order completed, and each stage issued the statements it needs, no more
    assert Order.objects.get(pk=order_id).status == Order.Status.COMPLETED
    assert {stage: dict(row) for stage, row in table.items()} == {
        "POST /api/cart/items": {"default": 1, "product": 1, "cart": 5},
        "POST /api/checkout": {"default": 1, "cart": 1, "order": 1},
        "task order.saga_advance": {"order": 4},
        "task cart.reserve_items": {"cart": 5},
        "task order.saga_reply": {"product": 6, "cart": 1, "order": 7, "payment": 6},
    }
    assert sum(sum(row.values()) for row in table.values()) == 39
    # and each saga step: its port calls, and one statement that records its outcome and
    # starts the next step (reserve_cart's outcome is recorded when the cart's reply comes)
    assert {step: dict(row) for step, row in steps.items()} == {
        "step reserve_cart": {"order": 1},
        "step hold_stock": {"product": 5, "order": 1},
        "step charge_payment": {"payment": 6, "order": 1},
        "step commit": {"product": 1, "cart": 1, "order": 1},
    }
