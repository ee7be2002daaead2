"""The OrderPort contract: both adapters answer alike, errors included."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.order.models import CheckoutSaga
from ecommerce.contracts.cart.errors import CartEmpty
from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.order.errors import OrderNotFound
from ecommerce.wiring import resolver
from tests.factories import ProductFactory
from tests.fixtures.broker import purge_queues

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture(autouse=True)
def _no_saga_left_behind():
    """No worker runs here: the sagas these checkouts start must not outlive the test."""
    yield
    purge_queues()


def _fill_cart(user_id: int, *, price: int = 700, quantity: int = 2) -> int:
    product = ProductFactory(price=price, stock=10)
    resolver.port("cart", remote=False).add_item(
        user_id=user_id, product_id=product.pk, quantity=quantity
    )
    return product.pk


def test_a_checkout_makes_one_pending_order_per_key(port_for):
    # given
    product_id = _fill_cart(11)
    port = port_for("order")
    # when
    first = port.checkout(user_id=11, idempotency_key="k-1", payment_method="pm_card_visa")
    again = port.checkout(user_id=11, idempotency_key="k-1", payment_method="pm_card_visa")
    # then
    assert (first.created, again.created) == (True, False)
    assert again.order == first.order
    order = first.order
    assert (order.status, order.total, order.currency, order.user_id) == (
        "PENDING",
        1400,
        "USD",
        11,
    )
    assert [(line.product_id, line.quantity) for line in order.lines] == [(product_id, 2)]
    assert order.created_at.tzinfo is not None
    assert port.get(order_id=order.id, user_id=11) == order
    assert port.list(user_id=11) == [order]
    with pytest.raises(IdempotencyConflict):
        port.checkout(user_id=11, idempotency_key="k-1", payment_method="pm_card_mastercard")


def test_checkout_refusals_and_unknown_orders_raise_the_domain_errors(port_for):
    # given
    port = port_for("order")
    _fill_cart(12)
    order = port.checkout(user_id=12, idempotency_key="k-2", payment_method="pm_card_visa").order
    # when / then
    with pytest.raises(CartEmpty):
        port.checkout(user_id=13, idempotency_key="k-3", payment_method="pm_card_visa")
    with pytest.raises(InvalidRequest):
        port.checkout(user_id=12, idempotency_key="", payment_method="pm_card_visa")
    with pytest.raises(OrderNotFound):
        port.get(order_id=order.id, user_id=99)
    with pytest.raises(OrderNotFound):
        port.get(order_id=10**12)
    assert port.get(order_id=order.id).id == order.id
    assert port.list(user_id=99) == []


def test_the_sagas_that_need_a_look_are_listed_by_kind(port_for, settings):
    # given: three checkouts, one made to look failed, one stuck, one just moved
    port = port_for("order")
    ids = []
    for user_id in (21, 22, 23):
        _fill_cart(user_id)
        ids.append(
            port.checkout(
                user_id=user_id, idempotency_key=f"s-{user_id}", payment_method="pm_card_visa"
            ).order.id
        )
    failed_id, stuck_id, fresh_id = ids
    finished = timezone.now()
    CheckoutSaga.objects.filter(order_id=failed_id).update(
        state="FAILED", step="done", failure_reason="payment_declined", finished_at=finished
    )
    long_ago = timezone.now() - timedelta(seconds=settings.SAGA_STUCK_SECONDS + 1)
    CheckoutSaga.objects.filter(order_id=stuck_id).update(updated_at=long_ago)
    # when
    failed = port.sagas(state="failed")
    stuck = port.sagas(state="stuck", offset=0, limit=5)
    # then
    assert failed.count == 1
    [saga] = failed.sagas
    assert (saga.order_id, saga.user_id, saga.state, saga.failure_reason, saga.stuck) == (
        failed_id,
        21,
        "FAILED",
        "payment_declined",
        False,
    )
    assert saga.saga_id == CheckoutSaga.objects.get(order_id=failed_id).pk
    assert saga.finished_at == finished
    assert [(s.order_id, s.state, s.stuck, s.finished_at) for s in stuck.sagas] == [
        (stuck_id, "RUNNING", True, None)
    ]
    assert stuck.sagas[0].updated_at == long_ago
    assert fresh_id not in {s.order_id for s in stuck.sagas}
    assert port.sagas(state="compensating").count == 0
    assert port.sagas(state="failed", offset=1).sagas == ()
    with pytest.raises(InvalidRequest):
        port.sagas(state="running")
    with pytest.raises(InvalidRequest):
        port.sagas(state="failed", limit=0)
