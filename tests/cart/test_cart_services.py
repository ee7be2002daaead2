"""Every cart change answers alike: the cart and its lines as they now are, in the cart's order."""

import pytest

from apps.cart import selectors, services
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _shape(answer):
    cart, items = answer
    return cart.pk, [(i.product_id, i.quantity) for i in items]


def test_add_set_and_remove_each_return_the_cart_and_its_lines_as_a_read_does():
    # given: a cart with two lines
    first, second = ProductFactory(stock=10), ProductFactory(stock=10)
    services.cart_add_item(user_id=7, product_id=first.pk, quantity=1)
    added = services.cart_add_item(user_id=7, product_id=second.pk, quantity=2)
    assert _shape(added) == _shape(selectors.cart_items(user_id=7))
    # when: a quantity is set, then a line removed
    changed = services.cart_set_quantity(user_id=7, product_id=first.pk, quantity=4)
    assert _shape(changed) == _shape(selectors.cart_items(user_id=7))
    assert _shape(changed)[1] == [(first.pk, 4), (second.pk, 2)]
    removed = services.cart_remove_item(user_id=7, product_id=first.pk)
    # then: each answer is what a read of the cart says
    assert _shape(removed) == _shape(selectors.cart_items(user_id=7))
    assert _shape(removed)[1] == [(second.pk, 2)]
