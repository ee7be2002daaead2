"""A remote service that is down: its requests fail fast with 503, the rest keep working, and
everything comes back with the service."""

from __future__ import annotations

import time

import pytest

from apps.order.models import Order, SagaStep
from tests.factories import ProductFactory
from tests.fixtures.broker import purge_queues
from tests.fixtures.worker import Worker
from tests.saga.flows import post_checkout

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_phase_1_cart_requests_answer_503_while_the_cart_service_is_down(
    phase, start_service, monolith_grpc, auth_api, api
):
    # given: phase 1, the cart in its own process, the catalogue still in the monolith
    phase("1")
    product = ProductFactory(stock=5)
    cart = start_service("cart", phase="1", targets={"product": monolith_grpc})
    line = {"product_id": product.pk, "quantity": 2}
    assert auth_api.post("/api/cart/items", line, format="json").status_code == 201
    # when
    cart.stop()
    started = time.monotonic()
    read = auth_api.get("/api/cart")
    write = auth_api.post("/api/cart/items", line, format="json")
    elapsed = time.monotonic() - started
    # then
    assert (read.status_code, write.status_code) == (503, 503)
    assert read.json()["error"]["code"] == "service_unavailable"
    assert read.json()["error"]["details"]["service"] == "cart"
    assert elapsed < 2.5
    assert api.get(f"/api/products/{product.pk}").status_code == 200
    # when: it comes back
    cart.start()
    # then
    items = auth_api.get("/api/cart").json()["items"]
    assert [(i["product_id"], i["quantity"]) for i in items] == [(product.pk, 2)]


def test_phase_2_the_catalogue_serves_what_it_cached_while_the_product_service_is_down(
    phase, start_service, api
):
    # given: phase 2, the catalogue in its own process, its list already cached
    phase("2")
    listed, unlisted = ProductFactory(name="Listed"), ProductFactory(name="Unlisted")
    service = start_service("product", phase="2")
    cached = api.get("/api/products", {"search": "Listed"})
    assert cached.status_code == 200
    # when
    service.stop()
    # then
    again = api.get("/api/products", {"search": "Listed"})
    assert (again.status_code, again.json()) == (200, cached.json())
    missing = api.get(f"/api/products/{unlisted.pk}")
    assert missing.status_code == 503
    assert missing.json()["error"]["code"] == "service_unavailable"
    # when: it comes back
    service.start()
    # then
    assert api.get(f"/api/products/{unlisted.pk}").json()["id"] == unlisted.pk
    assert listed.pk in [p["id"] for p in cached.json()["results"]]


def test_a_checkout_in_flight_waits_for_the_product_service_and_completes_when_it_returns(
    phase, start_service, auth_api, local_stripe, tmp_path
):
    # given: phase 2, a filled cart, the saga's worker running, and then the catalogue down
    phase("2")
    product = ProductFactory(stock=5, price=900)
    catalogue = start_service("product", phase="2")
    cart = start_service("cart", phase="2", targets={"product": catalogue.address})
    line = {"product_id": product.pk, "quantity": 2}
    assert auth_api.post("/api/cart/items", line, format="json").status_code == 201
    purge_queues()
    worker = Worker(
        tmp_path,
        env={
            "PHASE": "2",
            "PRODUCT_GRPC_TARGET": catalogue.address,
            "CART_GRPC_TARGET": cart.address,
        },
    ).wait_ready()
    try:
        catalogue.stop()
        # when: a checkout starts while the catalogue is down
        response = post_checkout(auth_api, "while-down")
        assert response.status_code == 201
        order_id = response.json()["order_id"]
        # then: the saga keeps retrying the stock hold, the order waits
        _wait(
            lambda: SagaStep.objects.filter(
                saga__order_id=order_id, name="hold_stock", attempts__gte=2
            ).exists(),
            "a retried stock hold",
            worker,
        )
        assert Order.objects.get(pk=order_id).status == "PENDING"
        # when: the catalogue comes back
        catalogue.start()
        # then: the same checkout completes, stock taken once
        _wait(lambda: Order.objects.get(pk=order_id).status != "PENDING", "the order", worker)
        assert Order.objects.get(pk=order_id).status == "COMPLETED"
        product.refresh_from_db()
        assert product.stock == 3
    finally:
        worker.stop()
        purge_queues()


def _wait(predicate, what: str, worker: Worker, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout}s:\n{worker.log()}")
        time.sleep(0.1)
