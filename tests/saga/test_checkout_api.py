"""POST /api/checkout and the orders API: what the client sees before the saga runs."""

import pytest

from apps.order.models import CheckoutSaga, Order
from ecommerce.wiring import resolver
from tests.factories import ProductFactory, UserFactory
from tests.saga.flows import post_checkout

pytestmark = pytest.mark.django_db(databases="__all__")


def _fill_cart(user, quantity=2, **product):
    item = ProductFactory(**product)
    resolver.cart().add_item(user_id=user.pk, product_id=item.pk, quantity=quantity)
    return item


def test_checkout_answers_201_with_a_pending_order_and_its_location(user, auth_api):
    # given
    product = _fill_cart(user, quantity=2, price=1500)
    # when
    response = post_checkout(auth_api, "k-1")
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "PENDING"
    assert response["Location"] == f"/api/orders/{body['order_id']}"
    order = auth_api.get(f"/api/orders/{body['order_id']}").json()
    assert order["status"] == "PENDING"
    assert order["total"] == 3000
    assert order["lines"][0]["product_id"] == product.pk
    assert order["saga"]["step"] == "reserve_cart"
    assert order["trace_id"] is None  # tracing is off here (tests/tracing has it on)


def test_the_same_key_returns_the_same_order_and_starts_no_second_saga(user, auth_api):
    # given
    _fill_cart(user)
    first = post_checkout(auth_api, "same")
    # when
    second = post_checkout(auth_api, "same")
    # then
    assert second.status_code == 201
    assert second.json()["order_id"] == first.json()["order_id"]
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert CheckoutSaga.objects.count() == 1


def test_the_same_key_with_another_payment_method_is_a_conflict(user, auth_api):
    _fill_cart(user)
    auth_api.post(
        "/api/checkout", {"payment_method": "pm_card_visa"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    response = post_checkout(auth_api, "k", payment_method="pm_card_mastercard")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        ({}, {"payment_method": "pm_card_visa"}, "invalid_request"),
        (
            {"HTTP_IDEMPOTENCY_KEY": "x" * 201},
            {"payment_method": "pm_card_visa"},
            "invalid_request",
        ),
        ({"HTTP_IDEMPOTENCY_KEY": "k"}, {}, "validation_error"),
        ({"HTTP_IDEMPOTENCY_KEY": "k"}, {"payment_method": 7}, "validation_error"),
        ({"HTTP_IDEMPOTENCY_KEY": "k"}, {"payment_method": "pm card; drop"}, "validation_error"),
        ({"HTTP_IDEMPOTENCY_KEY": "k"}, ["pm_card_visa"], "validation_error"),
    ],
)
def test_bad_checkout_input_is_400_and_creates_nothing(user, auth_api, headers, body, code):
    _fill_cart(user)
    response = auth_api.post("/api/checkout", body, format="json", **headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert Order.objects.count() == 0


def test_an_empty_cart_cannot_be_checked_out(auth_api):
    response = auth_api.post(
        "/api/checkout", {"payment_method": "pm_card_visa"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "cart_empty"
    assert Order.objects.count() == 0


def test_orders_are_private(user, auth_api, client_for):
    # given
    _fill_cart(user)
    order_id = auth_api.post(
        "/api/checkout", {"payment_method": "pm_card_visa"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    ).json()["order_id"]
    stranger = client_for(UserFactory())
    # then
    assert stranger.get(f"/api/orders/{order_id}").status_code == 404
    assert stranger.get("/api/orders").json() == []
    assert [o["id"] for o in auth_api.get("/api/orders").json()] == [order_id]


def test_anonymous_clients_get_401(api):
    assert api.post("/api/checkout", {}, format="json").status_code == 401
    assert api.get("/api/orders").status_code == 401
    assert api.get("/api/orders/1").status_code == 401
