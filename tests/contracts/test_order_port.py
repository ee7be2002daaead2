"""The OrderPort contract: both adapters answer alike, errors included."""

import pytest

from ecommerce import resolver
from ecommerce.contracts.cart.errors import CartEmpty
from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.order.errors import OrderNotFound
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
