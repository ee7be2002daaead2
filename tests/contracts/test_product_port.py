"""The ProductPort contract: both adapters answer alike, errors included."""

import pytest

from ecommerce.contracts.errors import Conflict, InvalidRequest, NotFound
from ecommerce.contracts.product.errors import OutOfStock, ProductNotFound, ProductUnavailable
from ecommerce.contracts.product.port import ProductData, ProductQuery, StockHold, StockLine
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db(databases=["default", "product"], transaction=True)


def test_get_returns_every_field_and_unknown_ids_raise(port_for):
    # given
    category = CategoryFactory(slug="tea")
    product = ProductFactory(price=450, stock=3, category=category, is_active=False)
    uncategorised = ProductFactory(category=None)
    port = port_for("product")
    # when
    found = port.get(product.pk)
    # then
    assert found == ProductData(
        id=product.pk,
        sku=product.sku,
        name=product.name,
        description=product.description,
        price=450,
        currency="USD",
        category_id=category.pk,
        category_slug="tea",
        is_active=False,
        stock=3,
    )
    plain = port.get(uncategorised.pk)
    assert plain.category_id is None and plain.category_slug is None
    with pytest.raises(ProductNotFound) as raised:
        port.get(10**12)
    assert raised.value.details == {"product_id": 10**12}


def test_get_many_keeps_the_order_asked_and_skips_unknown_ids(port_for):
    # given
    first, second = ProductFactory(), ProductFactory()
    # when
    found = port_for("product").get_many([second.pk, 10**12, first.pk])
    # then
    assert [p.id for p in found] == [second.pk, first.pk]


def test_list_pages_and_refuses_an_unknown_ordering(port_for):
    # given
    for price in (300, 100, 200):
        ProductFactory(price=price)
    ProductFactory(price=50, is_active=False)
    port = port_for("product")
    # when
    page = port.list(ProductQuery(ordering="price", offset=1, limit=1))
    everything = port.list(ProductQuery(ordering="price", active_only=False))
    # then
    assert page.count == 3
    assert [p.price for p in page.items] == [200]
    assert [p.price for p in everything.items] == [50, 100, 200, 300]
    with pytest.raises(InvalidRequest) as raised:
        port.list(ProductQuery(ordering="stock"))
    assert "ordering" in raised.value.details


def test_categories_come_by_name(port_for):
    # given
    CategoryFactory(name="Tea", slug="tea")
    CategoryFactory(name="Coffee", slug="coffee")
    # when
    names = [c.name for c in port_for("product").categories()]
    # then
    assert names == ["Coffee", "Tea"]


def test_stock_hold_takes_all_or_nothing_and_is_idempotent(port_for):
    # given
    a, b = ProductFactory(stock=5), ProductFactory(stock=1)
    port = port_for("product")
    # when
    hold = port.stock_hold(hold_key="h-1", lines=[StockLine(a.pk, 2), StockLine(b.pk, 1)])
    again = port.stock_hold(hold_key="h-1", lines=[StockLine(a.pk, 2), StockLine(b.pk, 1)])
    # then
    assert hold == again == StockHold("h-1", "HELD", (StockLine(a.pk, 2), StockLine(b.pk, 1)))
    with pytest.raises(OutOfStock) as raised:
        port.stock_hold(hold_key="h-2", lines=[StockLine(a.pk, 1), StockLine(b.pk, 1)])
    assert raised.value.details == {"product_id": b.pk, "requested": 1, "available": 0}
    assert port.get(a.pk).stock == 3


def test_stock_hold_of_an_inactive_product_is_refused(port_for):
    # given
    product = ProductFactory(is_active=False)
    # when / then
    with pytest.raises(ProductUnavailable):
        port_for("product").stock_hold(hold_key="h-3", lines=[StockLine(product.pk, 1)])


def test_release_and_confirm_follow_the_hold_lifecycle(port_for):
    # given
    product = ProductFactory(stock=4)
    port = port_for("product")
    port.stock_hold(hold_key="kept", lines=[StockLine(product.pk, 3)])
    port.stock_hold(hold_key="returned", lines=[StockLine(product.pk, 1)])
    # when
    confirmed = port.stock_confirm(hold_key="kept")
    released = port.stock_release(hold_key="returned")
    tombstone = port.stock_release(hold_key="never-held")
    # then
    assert (confirmed.status, released.status, tombstone.status) == (
        "CONFIRMED",
        "RELEASED",
        "RELEASED",
    )
    assert tombstone.lines == ()
    assert port.get(product.pk).stock == 1
    with pytest.raises(Conflict):
        port.stock_release(hold_key="kept")
    with pytest.raises(Conflict):
        port.stock_confirm(hold_key="returned")
    with pytest.raises(NotFound):
        port.stock_confirm(hold_key="unknown")


def test_list_gives_cursors_that_page_both_ways(port_for):
    # given
    for price in (500, 100, 400, 200, 300):
        ProductFactory(price=price)
    port = port_for("product")
    # when
    first = port.list(ProductQuery(ordering="price", limit=2))
    second = port.list(ProductQuery(ordering="price", limit=2, cursor=first.next_cursor))
    last = port.list(
        ProductQuery(ordering="price", limit=2, cursor=second.next_cursor, skip_count=True)
    )
    back = port.list(ProductQuery(ordering="price", limit=2, cursor=second.previous_cursor))
    # then
    assert [p.price for p in first.items] == [100, 200]
    assert [p.price for p in second.items] == [300, 400]
    assert [p.price for p in last.items] == [500] and last.next_cursor == ""
    assert (last.count, last.count_capped) == (0, True)
    assert [p.price for p in back.items] == [100, 200] and back.previous_cursor == ""
    assert (first.count, first.count_capped) == (5, False)
