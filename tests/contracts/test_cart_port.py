"""The CartPort contract: both adapters answer alike, errors included."""

import pytest

from ecommerce.contracts.cart.errors import CartEmpty, CartItemNotFound, CartLocked
from ecommerce.contracts.cart.port import CartData, CartLine
from ecommerce.contracts.errors import Conflict, InvalidRequest, NotFound
from ecommerce.contracts.product.errors import ProductNotFound, ProductUnavailable
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(databases=["default", "product", "cart"], transaction=True)


def test_an_unknown_user_has_an_empty_cart(port_for):
    assert port_for("cart").get(user_id=7) == CartData(user_id=7, items=(), currency="USD")


def test_lines_are_added_changed_and_removed(port_for):
    # given
    product = ProductFactory(price=999, stock=20)
    other = ProductFactory(price=100, stock=20)
    cart = port_for("cart")
    # when
    cart.add_item(user_id=1, product_id=product.pk, quantity=2)
    cart.add_item(user_id=1, product_id=other.pk, quantity=1)
    added = cart.add_item(user_id=1, product_id=product.pk, quantity=1)
    changed = cart.set_quantity(user_id=1, product_id=product.pk, quantity=5)
    removed = cart.remove_item(user_id=1, product_id=other.pk)
    # then
    assert added.items[0] == CartLine(product.pk, product.sku, product.name, 3, 999, "USD")
    assert changed.total == 5 * 999 + 100
    assert removed == CartData(
        user_id=1,
        items=(CartLine(product.pk, product.sku, product.name, 5, 999, "USD"),),
        currency="USD",
    )


def test_bad_lines_raise_the_domain_errors(port_for):
    # given
    inactive = ProductFactory(is_active=False)
    product = ProductFactory()
    cart = port_for("cart")
    # when / then
    with pytest.raises(ProductNotFound):
        cart.add_item(user_id=2, product_id=10**12, quantity=1)
    with pytest.raises(ProductUnavailable):
        cart.add_item(user_id=2, product_id=inactive.pk, quantity=1)
    with pytest.raises(InvalidRequest) as raised:
        cart.add_item(user_id=2, product_id=product.pk, quantity=0)
    assert "quantity" in raised.value.details
    with pytest.raises(CartItemNotFound):
        cart.set_quantity(user_id=2, product_id=product.pk, quantity=1)
    with pytest.raises(CartItemNotFound):
        cart.remove_item(user_id=2, product_id=product.pk)
    assert cart.get(user_id=2).items == ()


def test_a_reservation_locks_the_cart_until_released(port_for):
    # given
    product = ProductFactory(price=500)
    cart = port_for("cart")
    with pytest.raises(CartEmpty):
        cart.reserve(user_id=3, reservation_key="r-0")
    cart.add_item(user_id=3, product_id=product.pk, quantity=2)
    # when
    reservation = cart.reserve(user_id=3, reservation_key="r-1")
    # then
    assert reservation == cart.reserve(user_id=3, reservation_key="r-1")
    assert (reservation.status, reservation.total, reservation.currency) == (
        "RESERVED",
        1000,
        "USD",
    )
    assert cart.get(user_id=3).reserved is True
    with pytest.raises(CartLocked):
        cart.add_item(user_id=3, product_id=product.pk, quantity=1)
    with pytest.raises(CartLocked):
        cart.reserve(user_id=3, reservation_key="r-2")
    released = cart.release(reservation_key="r-1", user_id=3)
    assert released.status == "RELEASED"
    assert cart.get(user_id=3).reserved is False
    with pytest.raises(Conflict):
        cart.commit(reservation_key="r-1")


def test_commit_empties_the_reserved_lines_and_unknown_keys_are_handled(port_for):
    # given
    product = ProductFactory()
    cart = port_for("cart")
    cart.add_item(user_id=4, product_id=product.pk, quantity=1)
    cart.reserve(user_id=4, reservation_key="r-3")
    # when
    committed = cart.commit(reservation_key="r-3")
    # then
    assert committed.status == "COMMITTED"
    assert cart.commit(reservation_key="r-3") == committed
    assert cart.get(user_id=4).items == ()
    assert cart.release(reservation_key="late", user_id=4).status == "RELEASED"
    with pytest.raises(NotFound):
        cart.commit(reservation_key="unknown")
