"""A saga under cut-over: each checkout's steps go to one side, its user's, in every service."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.order.models import Order
from ecommerce.wiring import cutover, resolver
from tests.factories import ProductFactory, UserFactory
from tests.fixtures.metrics import scrape, value
from tests.phases.conftest import start_service  # noqa: F401  (a fixture)
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _user_on(side: str):
    """A new user whose routing key falls on `side` of a 50 % share."""
    for _ in range(50):
        user = UserFactory()
        if cutover.goes_remote(50, cutover.user_key(user.pk)) == (side == "remote"):
            return user
    raise AssertionError(f"no user on the {side} side in 50 tries")


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _served(service, method: str) -> float:
    families = scrape(service.http_port)
    return value(families, "grpc_server_handling_seconds_count", grpc_method=method)


def test_at_50_percent_a_saga_runs_every_step_on_its_users_side(
    start_service,  # noqa: F811
    start_worker,
    local_stripe,
):
    # given: the catalogue and payments under cut-over at 50 %, each served beside the monolith
    product = ProductFactory(stock=20, price=1200)
    services = {
        "product": start_service("product", phase="0"),
        "payment": start_service("payment", phase="0", env=local_stripe.env()),
    }
    targets = {f"{app.upper()}_GRPC_TARGET": s.address for app, s in services.items()}
    worker = start_worker(env={"CUTOVER": "product:50,payment:50", **targets})
    users = [_user_on(side) for side in ("remote", "local") * 3]
    # when: one checkout each, two units (without stickiness each step would draw its side)
    ids = []
    for n, user in enumerate(users):
        resolver.cart().add_item(user_id=user.pk, product_id=product.pk, quantity=2)
        ids.append(checkout(client_of(user), f"cutover-saga-{n}"))
    done = wait_for_orders(ids, workers=[worker])
    # then: all completed; the services saw exactly the remote users' steps
    assert [o.status for o in done] == [Order.Status.COMPLETED] * 6
    steps = {
        "HoldStock": _served(services["product"], "HoldStock"),
        "ConfirmStock": _served(services["product"], "ConfirmStock"),
        "Charge": _served(services["payment"], "Charge"),
    }
    assert steps == {"HoldStock": 3, "ConfirmStock": 3, "Charge": 3}
    product.refresh_from_db()
    assert product.stock == 20 - 6 * 2
