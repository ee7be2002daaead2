"""Catalogue changes write their events to the product outbox, in the same transaction."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.product import services
from apps.product.models import OutboxEvent, Product
from ecommerce.contracts.errors import InvalidRequest
from ecommerce.contracts.product.errors import OutOfStock
from ecommerce.contracts.product.port import StockLine
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def events(event_type: str | None = None) -> list[OutboxEvent]:
    rows = OutboxEvent.objects.using("product").order_by("id")
    return list(rows.filter(event_type=event_type) if event_type else rows)


def test_product_create_emits_created_with_the_contract_payload():
    # when
    product = services.product_create(sku="MUG-1", name="Mug", price=900, stock=4)
    # then
    (event,) = events()
    assert event.event_type == "product.created"
    assert (event.aggregate_type, event.aggregate_id) == ("product", str(product.pk))
    assert event.payload == {
        "product_id": product.pk,
        "sku": "MUG-1",
        "name": "Mug",
        "price": 900,
        "currency": "USD",
        "stock": 4,
        "is_active": True,
    }
    assert event.published_at is None


def test_a_rolled_back_change_leaves_no_event():
    # when
    with pytest.raises(RuntimeError), transaction.atomic(using="product"):
        services.product_create(sku="MUG-2", name="Mug", price=900)
        raise RuntimeError("the surrounding transaction fails")
    # then
    assert not Product.objects.filter(sku="MUG-2").exists()
    assert events() == []


def test_product_update_emits_updated_and_the_stock_change():
    # given
    product = ProductFactory(stock=10, price=500)
    # when
    services.product_update(product=product, stock=7, price=450)
    # then
    assert [e.event_type for e in events()] == ["product.updated", "product.stock_changed"]
    updated, stock = events()
    assert updated.payload["price"] == 450
    assert updated.payload["stock"] == 7
    assert stock.payload == {
        "product_id": product.pk,
        "delta": -3,
        "reason": "adjusted",
        "hold_key": "",
    }


def test_an_invalid_update_emits_nothing():
    # given
    product = ProductFactory()
    # when
    with pytest.raises(ValidationError):
        services.product_update(product=product, currency="DOLLARS")
    # then
    assert events() == []


def test_deactivating_emits_updated_for_products_that_change_only():
    # given
    active, inactive = ProductFactory(is_active=True), ProductFactory(is_active=False)
    # when
    services.products_set_active(product_ids=[active.pk, inactive.pk], is_active=False)
    # then
    (event,) = events()
    assert event.event_type == "product.updated"
    assert event.payload["product_id"] == active.pk
    assert event.payload["is_active"] is False


def test_a_stock_hold_and_its_release_are_stock_changes():
    # given
    mug, cup = ProductFactory(stock=5), ProductFactory(stock=5)
    lines = [StockLine(product_id=mug.pk, quantity=2), StockLine(product_id=cup.pk, quantity=1)]
    # when
    services.stock_hold(hold_key="order-1", lines=lines)
    services.stock_hold(hold_key="order-1", lines=lines)  # a replay holds nothing more
    services.stock_release(hold_key="order-1")
    # then
    changes = [
        (e.payload["product_id"], e.payload["delta"], e.payload["reason"], e.payload["hold_key"])
        for e in events("product.stock_changed")
    ]
    assert sorted(changes) == sorted(
        [
            (mug.pk, -2, "held", "order-1"),
            (cup.pk, -1, "held", "order-1"),
            (mug.pk, 2, "released", "order-1"),
            (cup.pk, 1, "released", "order-1"),
        ]
    )


def test_a_refused_hold_emits_nothing():
    # given
    mug, cup = ProductFactory(stock=5), ProductFactory(stock=0)
    lines = [StockLine(product_id=mug.pk, quantity=1), StockLine(product_id=cup.pk, quantity=1)]
    # when
    with pytest.raises(OutOfStock):
        services.stock_hold(hold_key="order-2", lines=lines)
    # then
    assert events() == []
    mug.refresh_from_db()
    assert mug.stock == 5


def test_saving_through_the_service_tells_created_from_updated():
    # given: a product built the way the admin's add form builds one
    product = Product(sku="MUG-9", name="Mug", price=900, stock=3)
    # when
    services.product_save(product=product)
    product.stock = 5
    services.product_save(product=product)
    # then
    assert [(e.event_type, e.payload.get("delta")) for e in events()] == [
        ("product.created", None),
        ("product.updated", None),
        ("product.stock_changed", 2),
    ]


@pytest.mark.parametrize("write", ["create", "update"])
def test_a_product_in_an_unknown_currency_is_refused_and_emits_nothing(write):
    # given
    existing = ProductFactory(currency="USD") if write == "update" else None
    before = OutboxEvent.objects.count()
    # when
    with pytest.raises(InvalidRequest, match="not an ISO 4217 currency"):
        if existing is None:
            services.product_create(sku="X-1", name="X", price=100, currency="ABC")
        else:
            services.product_update(product=existing, currency="ABC")
    # then
    assert OutboxEvent.objects.count() == before
    assert not Product.objects.filter(currency="ABC").exists()
