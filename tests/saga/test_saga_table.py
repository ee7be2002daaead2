"""The saga's table is the saga: forward steps in order, each undone in reverse by its named
compensation, the steps answered by a reply the ones the orchestrator waits for."""

from __future__ import annotations

from apps.order import checkout_saga as saga
from apps.order.models import CheckoutSaga


def test_the_table_reads_as_the_saga():
    assert saga.FORWARD == ("reserve_cart", "hold_stock", "charge_payment", "commit")
    assert saga.COMPENSATION == ("refund_payment", "release_stock", "release_cart")
    assert saga.ASYNC_STEPS == ("reserve_cart", "release_cart")


def test_every_compensation_named_by_a_step_has_its_own_row_in_undo_order():
    assert tuple(s.name for s in saga.COMPENSATIONS) == saga.COMPENSATION
    assert set(saga.STEPS) == set(saga.Step)
    assert all(callable(action) for action in saga.STEPS.values())


def test_a_step_name_fits_the_column_that_stores_it():
    longest = CheckoutSaga._meta.get_field("step").max_length
    assert max(len(step) for step in saga.Step) <= longest
