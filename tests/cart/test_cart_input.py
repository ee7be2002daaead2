"""Bad input and access on the cart: a 4xx in the error shape, and nothing changes."""

from __future__ import annotations

import json

import pytest

from apps.cart.models import Cart, CartItem
from apps.product.models import Product
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _state() -> tuple:
    """Everything a bad request could have touched: carts, their lines, the products' stock."""
    return (
        list(Cart.objects.order_by("pk").values_list("user_id", "reservation_key", "currency")),
        list(
            CartItem.objects.order_by("pk").values_list("cart__user_id", "product_id", "quantity")
        ),
        list(Product.objects.order_by("pk").values_list("pk", "stock", "is_active")),
    )


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


@pytest.fixture
def product():
    return ProductFactory(stock=5)


@pytest.fixture
def with_line(auth_api, product):
    """The user's cart already holds one unit of `product`."""
    response = auth_api.post(
        "/api/cart/items", {"product_id": product.pk, "quantity": 1}, format="json"
    )
    assert response.status_code == 201
    return product


@pytest.mark.parametrize(
    "raw, code",
    [
        ('{"product_id": 1, "quantity": ', "malformed_request"),
        ("{'product_id': 1}", "malformed_request"),
        ("", "validation_error"),
        ("[1, 2]", "validation_error"),
        ('"two please"', "validation_error"),
        ("42", "validation_error"),
        ("null", "validation_error"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(auth_api, product, raw, code):
    # given
    before = _state()
    # when
    response = auth_api.generic(
        "POST", "/api/cart/items", raw.replace("1", str(product.pk)), "application/json"
    )
    # then
    assert _error(response, 400)["code"] == code
    assert _state() == before


def test_a_body_that_is_not_json_at_all_is_415(auth_api, product):
    # given
    before = _state()
    # when
    response = auth_api.post("/api/cart/items", {"product_id": product.pk, "quantity": 1})
    # then
    assert _error(response, 415)["code"] == "unsupported_media_type"
    assert _state() == before


@pytest.mark.parametrize("field", ["product_id", "quantity"])
@pytest.mark.parametrize("value", ["2", 2.5, 2.0, True, None, [2], {"n": 2}, "", "1e3"])
def test_wrong_types_are_400_naming_the_field(auth_api, product, field, value):
    # given
    before = _state()
    body = {"product_id": product.pk, "quantity": 1} | {field: value}
    # when
    response = auth_api.post("/api/cart/items", body, format="json")
    # then
    error = _error(response, 400)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == [field]
    assert _state() == before


@pytest.mark.parametrize(
    "body, missing",
    [
        ({"quantity": 1}, {"product_id"}),
        ({"product_id": 1}, {"quantity"}),
        ({}, {"product_id", "quantity"}),
    ],
)
def test_missing_fields_are_400_naming_each(auth_api, body, missing):
    # given
    before = _state()
    # when
    response = auth_api.post("/api/cart/items", body, format="json")
    # then
    error = _error(response, 400)
    assert error["code"] == "validation_error"
    assert set(error["details"]) == missing
    assert _state() == before


@pytest.mark.parametrize("quantity", [0, -1, 100, 2**70])
def test_quantities_outside_1_to_99_are_400(auth_api, product, quantity):
    # given
    before = _state()
    # when
    response = auth_api.post(
        "/api/cart/items", {"product_id": product.pk, "quantity": quantity}, format="json"
    )
    # then
    error = _error(response, 400)
    assert set(error["details"]) == {"quantity"}
    assert _state() == before


@pytest.mark.parametrize("product_id", [0, -5, 2**63])
def test_product_ids_outside_the_id_range_are_400(auth_api, product_id):
    # given
    before = _state()
    # when
    response = auth_api.post(
        "/api/cart/items", {"product_id": product_id, "quantity": 1}, format="json"
    )
    # then
    assert set(_error(response, 400)["details"]) == {"product_id"}
    assert _state() == before


def test_an_unknown_product_is_404(auth_api, product):
    # given
    before = _state()
    # when
    response = auth_api.post(
        "/api/cart/items", {"product_id": product.pk + 1000, "quantity": 1}, format="json"
    )
    # then
    error = _error(response, 404)
    assert error["code"] == "product_not_found"
    assert error["details"] == {"product_id": product.pk + 1000}
    assert _state() == before


def test_an_inactive_product_is_422(auth_api):
    # given
    product = ProductFactory(is_active=False)
    before = _state()
    # when
    response = auth_api.post(
        "/api/cart/items", {"product_id": product.pk, "quantity": 1}, format="json"
    )
    # then
    assert _error(response, 422)["code"] == "product_unavailable"
    assert _state() == before


def test_more_than_the_stock_is_409(auth_api, with_line):
    # given: one unit already in the cart, five in stock
    before = _state()
    # when
    response = auth_api.post(
        "/api/cart/items", {"product_id": with_line.pk, "quantity": 5}, format="json"
    )
    # then
    error = _error(response, 409)
    assert error["code"] == "out_of_stock"
    assert error["details"] == {"product_id": with_line.pk, "requested": 6, "available": 5}
    assert _state() == before


def test_a_line_cannot_grow_past_99_by_increments(auth_api):
    # given
    product = ProductFactory(stock=500)
    auth_api.post("/api/cart/items", {"product_id": product.pk, "quantity": 60}, format="json")
    before = _state()
    # when
    response = auth_api.post(
        "/api/cart/items", {"product_id": product.pk, "quantity": 40}, format="json"
    )
    # then
    assert set(_error(response, 400)["details"]) == {"quantity"}
    assert _state() == before


@pytest.mark.parametrize("quantity", [0, -1, 100, "3", 1.5, True, None])
def test_patch_refuses_bad_quantities(auth_api, with_line, quantity):
    # given
    before = _state()
    # when
    response = auth_api.patch(
        f"/api/cart/items/{with_line.pk}", {"quantity": quantity}, format="json"
    )
    # then
    assert set(_error(response, 400)["details"]) == {"quantity"}
    assert _state() == before


def test_patch_refuses_more_than_the_stock(auth_api, with_line):
    # given
    before = _state()
    # when
    response = auth_api.patch(f"/api/cart/items/{with_line.pk}", {"quantity": 6}, format="json")
    # then
    assert _error(response, 409)["code"] == "out_of_stock"
    assert _state() == before


def test_patch_sets_the_quantity(auth_api, with_line):
    # when
    response = auth_api.patch(f"/api/cart/items/{with_line.pk}", {"quantity": 4}, format="json")
    # then
    assert response.status_code == 200
    assert response.json()["items"][0]["quantity"] == 4
    assert response.json()["total"] == 4 * with_line.price


def test_patch_and_delete_of_a_line_not_in_the_cart_are_404(auth_api, with_line):
    # given
    other = ProductFactory()
    before = _state()
    # when
    patched = auth_api.patch(f"/api/cart/items/{other.pk}", {"quantity": 2}, format="json")
    deleted = auth_api.delete(f"/api/cart/items/{other.pk}")
    huge = auth_api.delete(f"/api/cart/items/{2**64}")
    # then
    for response in (patched, deleted, huge):
        assert _error(response, 404)["code"] == "cart_item_not_found"
    assert _state() == before


def test_patch_with_a_body_that_is_not_an_object_is_400(auth_api, with_line):
    # given
    before = _state()
    # when
    response = auth_api.generic(
        "PATCH", f"/api/cart/items/{with_line.pk}", json.dumps([4]), "application/json"
    )
    # then
    assert _error(response, 400)["code"] == "validation_error"
    assert _state() == before


def test_delete_removes_the_line(auth_api, with_line):
    # when
    response = auth_api.delete(f"/api/cart/items/{with_line.pk}")
    # then
    assert response.status_code == 204
    assert auth_api.get("/api/cart").json()["items"] == []


def test_nobody_changes_another_users_cart(client_for, with_line, user):
    # given: `user` holds one unit of `with_line`
    intruder = client_for(UserFactory())
    before = _state()
    # when
    patched = intruder.patch(f"/api/cart/items/{with_line.pk}", {"quantity": 3}, format="json")
    deleted = intruder.delete(f"/api/cart/items/{with_line.pk}")
    # then
    assert _error(patched, 404)["code"] == "cart_item_not_found"
    assert _error(deleted, 404)["code"] == "cart_item_not_found"
    assert _state() == before
    assert client_for(user).get("/api/cart").json()["items"][0]["quantity"] == 1


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/api/cart", None),
        ("post", "/api/cart/items", {"product_id": 1, "quantity": 1}),
        ("patch", "/api/cart/items/1", {"quantity": 2}),
        ("delete", "/api/cart/items/1", None),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Token not-a-real-token", "Bearer abc"])
def test_anonymous_or_badly_authenticated_callers_get_401(api, method, path, body, authorization):
    # given
    if authorization:
        api.credentials(HTTP_AUTHORIZATION=authorization)
    before = _state()
    # when
    response = getattr(api, method)(path, body, format="json")
    # then
    error = _error(response, 401)
    assert error["code"] in {"not_authenticated", "authentication_failed"}
    assert response["WWW-Authenticate"].startswith("Token")
    assert _state() == before


def test_a_line_of_a_product_taken_off_sale_can_shrink_but_not_grow(auth_api):
    # given
    product = ProductFactory(stock=10)
    auth_api.post("/api/cart/items", {"product_id": product.pk, "quantity": 3}, format="json")
    Product.objects.filter(pk=product.pk).update(is_active=False)
    # when
    grown = auth_api.patch(f"/api/cart/items/{product.pk}", {"quantity": 4}, format="json")
    shrunk = auth_api.patch(f"/api/cart/items/{product.pk}", {"quantity": 2}, format="json")
    # then
    assert _error(grown, 422)["code"] == "product_unavailable"
    assert shrunk.status_code == 200
    assert shrunk.json()["items"][0]["quantity"] == 2
