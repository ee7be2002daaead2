"""The catalogue cache: served from Redis, forgotten on every change, never left stale by a race.

These tests commit for real (transactional), because invalidation runs on the product
transaction's commit.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache as django_cache

from apps.product import cache, services
from ecommerce.contracts.product.port import StockLine
from tests.factories import CategoryFactory, ProductFactory
from tests.product.forms import stock_list_form

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _detail(api, product) -> dict:
    response = api.get(f"/api/products/{product.pk}")
    assert response.status_code == 200
    return response.json()


def _listed(api, **params) -> dict:
    response = api.get("/api/products", params)
    assert response.status_code == 200
    return {item["id"]: item for item in response.json()["results"]}


def test_the_second_list_and_detail_come_from_redis_without_queries(api, product_queries):
    # given
    product = ProductFactory()
    with product_queries() as cold_list:
        _listed(api)
    with product_queries() as cold_detail:
        _detail(api, product)
    # when
    with product_queries() as warm_list:
        listed = _listed(api)
    with product_queries() as warm_detail:
        detail = _detail(api, product)
    # then
    assert len(cold_list) > 0 and len(cold_detail) > 0
    assert len(warm_list) == 0 and len(warm_detail) == 0
    assert listed[product.pk]["name"] == detail["name"] == product.name
    assert django_cache.keys(f"product:{product.pk}:*")  # in Redis, under its versioned key
    assert django_cache.keys("products:*")


def test_categories_are_cached_and_forgotten_when_one_changes(api, product_queries):
    # given
    category = CategoryFactory(name="Tea", slug="tea")
    product = ProductFactory(category=category)
    api.get("/api/categories")
    _detail(api, product)
    with product_queries() as warm:
        api.get("/api/categories")
    # when
    category.slug = "green-tea"
    category.save()
    # then
    assert len(warm) == 0
    assert api.get("/api/categories").json()[0]["slug"] == "green-tea"
    assert _detail(api, product)["category"] == "green-tea"


def test_a_service_update_is_seen_at_once_by_list_and_detail(api):
    # given
    product = ProductFactory(price=1000)
    _detail(api, product), _listed(api)
    # when
    services.product_update(product=product, price=1500, name="Renamed")
    # then
    assert _detail(api, product)["price"] == 1500
    assert _listed(api)[product.pk]["name"] == "Renamed"


def test_deactivating_through_a_service_hides_the_product(api):
    # given
    product = ProductFactory()
    _detail(api, product), _listed(api)
    # when
    services.products_set_active(product_ids=[product.pk], is_active=False)
    # then
    assert api.get(f"/api/products/{product.pk}").status_code == 404
    assert product.pk not in _listed(api)


def test_a_stock_hold_and_its_release_show_in_availability(api):
    # given
    product = ProductFactory(stock=2)
    assert _detail(api, product)["available"] is True
    # when
    services.stock_hold(hold_key="order-1", lines=[StockLine(product_id=product.pk, quantity=2)])
    held = _detail(api, product)
    services.stock_release(hold_key="order-1")
    released = _detail(api, product)
    # then
    assert held["available"] is False
    assert released["available"] is True


def test_an_admin_change_form_edit_is_seen_at_once(api, staff_client):
    # given
    product = ProductFactory(price=1000, stock=5)
    _detail(api, product), _listed(api)
    form = {
        "sku": product.sku,
        "name": "Edited in admin",
        "description": product.description,
        "category": product.category_id,
        "is_active": "on",
        "price": "25.00",
        "currency": "USD",
        "stock": 5,
        "_save": "Save",
    }
    # when
    response = staff_client.post(f"/admin/product/product/{product.pk}/change/", form)
    # then
    assert response.status_code == 302, response.content[:2000]
    assert _detail(api, product)["price"] == 2500
    assert _listed(api)[product.pk]["name"] == "Edited in admin"


def test_an_admin_list_stock_edit_is_seen_at_once(api, staff_client):
    # given
    product = ProductFactory(stock=5)
    _detail(api, product)
    form = stock_list_form((product, 0))
    # when
    response = staff_client.post("/admin/product/product/", form)
    # then
    assert response.status_code == 302, response.content[:2000]
    assert _detail(api, product)["available"] is False


@pytest.mark.parametrize("action, active_before", [("deactivate", True), ("activate", False)])
def test_admin_bulk_actions_are_seen_at_once(api, staff_client, action, active_before):
    # given
    products = ProductFactory.create_batch(2, is_active=active_before)
    for product in products:
        api.get(f"/api/products/{product.pk}")
    _listed(api)
    # when
    response = staff_client.post(
        "/admin/product/product/",
        {"action": action, "_selected_action": [p.pk for p in products]},
    )
    # then
    assert response.status_code == 302
    expected = 404 if active_before else 200
    assert [api.get(f"/api/products/{p.pk}").status_code for p in products] == [expected] * 2
    assert (products[0].pk in _listed(api)) is not active_before


def test_a_stale_read_cannot_survive_an_update(api):
    """A slow reader takes the version, reads the old row; the writer updates and commits;
    only then does the reader store what it read. The next read must still be fresh."""
    # given
    product = ProductFactory(price=1000)

    def slow_read() -> dict:
        stale = {"id": product.pk, "price": 1000}  # what the reader got from the database
        services.product_update(product=product, price=2000)  # the writer commits meanwhile
        return stale

    # when
    stored = cache.product_detail(product.pk, slow_read)
    # then
    assert stored["price"] == 1000  # the slow reader did store its stale value...
    assert _detail(api, product)["price"] == 2000  # ...under a version nobody reads again


def test_a_stale_list_cannot_survive_an_update(api):
    # given
    product = ProductFactory(price=1000)
    key = "ordering=name&page=1&page_size=20"

    def slow_read() -> dict:
        stale = {"count": 1, "results": [{"id": product.pk, "price": 1000}]}
        services.product_update(product=product, price=2000)
        return stale

    # when
    cache.product_list(key, slow_read)
    # then
    assert _listed(api)[product.pk]["price"] == 2000


def test_an_evicted_version_counter_does_not_revive_old_entries(api):
    # given
    product = ProductFactory(price=1000)
    _detail(api, product)
    services.product_update(product=product, price=2000)
    assert _detail(api, product)["price"] == 2000
    # when: Redis evicts the version counters (memory pressure, a flush of those keys)
    django_cache.delete_many(django_cache.keys("*:v"))
    # then
    assert _detail(api, product)["price"] == 2000
