"""Building blocks of saga tests: a shopper with a filled cart, and a checkout through the API."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ecommerce.wiring import resolver
from tests.factories import UserFactory


def shopper(*items: tuple[int, int]):
    """A user whose cart holds `(product_id, quantity)` items, and their API client."""
    user = UserFactory()
    for product_id, quantity in items:
        resolver.cart().add_item(user_id=user.pk, product_id=product_id, quantity=quantity)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return user, client


def post_checkout(client: APIClient, key: str, payment_method: str = "pm_card_visa"):
    """POST /api/checkout with this idempotency key: the response, whatever it is."""
    return client.post(
        "/api/checkout", {"payment_method": payment_method}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def checkout(client: APIClient, key: str, payment_method: str = "pm_card_visa") -> int:
    response = post_checkout(client, key, payment_method)
    assert response.status_code == 201, response.content
    return response.json()["order_id"]
