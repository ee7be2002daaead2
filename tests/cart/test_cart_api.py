"""The cart API: adding, changing and removing lines; only one's own cart."""

import pytest

from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def test_add_item_snapshots_price_and_increments(auth_api):
    # given
    product = ProductFactory(price=1999, stock=10)
    # when
    first = auth_api.post(
        "/api/cart/items", {"product_id": product.pk, "quantity": 2}, format="json"
    )
    second = auth_api.post(
        "/api/cart/items", {"product_id": product.pk, "quantity": 3}, format="json"
    )
    # then
    assert first.status_code == 201
    assert second.status_code == 201
    body = auth_api.get("/api/cart").json()
    assert body["items"] == [
        {
            "product_id": product.pk,
            "sku": product.sku,
            "name": product.name,
            "quantity": 5,
            "unit_price": 1999,
            "line_total": 9995,
        }
    ]
    assert body["total"] == 9995
    assert body["currency"] == "USD"


def test_a_user_sees_only_their_own_cart(client_for):
    # given
    alice, bob = UserFactory(), UserFactory()
    product = ProductFactory()
    client_for(alice).post(
        "/api/cart/items", {"product_id": product.pk, "quantity": 1}, format="json"
    )
    # when
    bobs = client_for(bob).get("/api/cart").json()
    # then
    assert bobs["items"] == []
    assert client_for(bob).delete(f"/api/cart/items/{product.pk}").status_code == 404
    assert len(client_for(alice).get("/api/cart").json()["items"]) == 1


def test_anonymous_cart_access_is_401(api):
    assert api.get("/api/cart").status_code == 401
    response = api.post("/api/cart/items", {"product_id": 1, "quantity": 1}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
