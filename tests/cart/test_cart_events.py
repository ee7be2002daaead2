"""Cart changes write their events to the cart outbox, in the same transaction."""

import pytest

from apps.cart import services
from apps.cart.models import OutboxEvent
from ecommerce.contracts.product.errors import OutOfStock
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def events() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.using("cart").order_by("id"))


def test_adding_emits_item_added_keyed_by_user():
    # given
    product = ProductFactory(price=1999, stock=10)
    # when
    services.cart_add_item(user_id=42, product_id=product.pk, quantity=2)
    services.cart_add_item(user_id=42, product_id=product.pk, quantity=3)
    # then
    first, second = events()
    assert first.event_type == second.event_type == "cart.item_added"
    assert (first.aggregate_type, first.aggregate_id) == ("cart", "42")
    assert first.payload["user_id"] == 42
    assert first.payload["product_id"] == product.pk
    assert [first.payload["quantity"], second.payload["quantity"]] == [2, 3]
    assert second.payload["line_quantity"] == 5


def test_a_refused_add_emits_nothing():
    # given
    product = ProductFactory(stock=1)
    # when
    with pytest.raises(OutOfStock):
        services.cart_add_item(user_id=42, product_id=product.pk, quantity=2)
    # then
    assert events() == []


def test_lowering_a_quantity_and_removing_a_line_emit_item_removed():
    # given
    product = ProductFactory(stock=10)
    services.cart_add_item(user_id=42, product_id=product.pk, quantity=5)
    # when
    services.cart_set_quantity(user_id=42, product_id=product.pk, quantity=3)
    services.cart_set_quantity(user_id=42, product_id=product.pk, quantity=4)
    services.cart_remove_item(user_id=42, product_id=product.pk)
    # then
    assert [(e.event_type, e.payload["quantity"]) for e in events()] == [
        ("cart.item_added", 5),
        ("cart.item_removed", 2),
        ("cart.item_added", 1),
        ("cart.item_removed", 4),
    ]
    assert events()[-1].payload["line_quantity"] == 0
