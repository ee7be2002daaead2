"""`manage.py serve <app>`: a real service process, its probes, and a shutdown that drains."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from django.db import transaction

from apps.cart.models import Cart, CartItem
from ecommerce.contracts.errors import ServiceUnavailable
from ecommerce.transports.grpc.contracts import CONTRACTS
from tests.factories import ProductFactory
from tests.fixtures.metrics import health, scrape, value, wait_until
from tests.fixtures.services import ROOT, service_env

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_service_answers_probes_and_finishes_calls_in_flight_when_stopped(
    start_service, monolith_grpc, settings
):
    # given: a cart with a line, served by its own process
    product = ProductFactory(stock=10)
    cart = Cart.objects.create(user_id=41, currency="USD")
    CartItem.objects.create(
        cart=cart,
        product_id=product.pk,
        sku=product.sku,
        name=product.name,
        quantity=1,
        unit_price=product.price,
        currency="USD",
    )
    service = start_service("cart", phase="1", targets={"product": monolith_grpc})
    settings.GRPC_RETRY_ATTEMPTS = 1
    adapter = CONTRACTS["cart"].client()
    assert adapter.get(user_id=41).items[0].quantity == 1
    status, body = _get(service.http_port, "/readyz")
    assert (status, json.loads(body)["checks"]["database:cart"]["ok"]) == (200, True)
    assert _get(service.http_port, "/healthz")[0] == 200
    metrics = _get(service.http_port, "/metrics")[1].decode()
    assert 'grpc_server_handling_seconds_count{grpc_code="OK",grpc_method="GetCart"' in metrics
    # given: a call that waits on the cart's row lock, held here
    outcome: dict = {}
    with transaction.atomic(using="cart"):
        Cart.objects.select_for_update().get(user_id=41)

        def set_quantity():
            try:
                outcome["cart"] = adapter.set_quantity(
                    user_id=41, product_id=product.pk, quantity=5
                )
            except Exception as exc:  # the assertion below says which
                outcome["error"] = exc

        caller = threading.Thread(target=set_quantity)
        caller.start()
        time.sleep(0.5)
        # when: the service is told to stop while that call is in flight
        service.terminate()
        time.sleep(0.5)
        # then: it takes no new call, but has not dropped the one in flight
        with pytest.raises(ServiceUnavailable):
            adapter.get(user_id=41)
        assert caller.is_alive(), outcome
    caller.join(10)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["cart"].items[0].quantity == 5
    assert service.process.wait(10) == 0


_PROBE = """
import json
from django.db import connections
from django.db.utils import ConnectionDoesNotExist
from django.core.exceptions import ImproperlyConfigured
result = {}
for alias in ("default", "product", "cart"):
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
        result[alias] = "ok"
    except (ConnectionDoesNotExist, ImproperlyConfigured) as exc:
        result[alias] = type(exc).__name__
import ecommerce.urls
from django.contrib import admin
result["cart_admin"] = any(m._meta.app_label == "cart" for m in admin.site._registry)
print(json.dumps(result))
"""


@pytest.mark.parametrize(
    ("serves", "expected"),
    [
        (
            "",
            {
                "default": "ok",
                "product": "ok",
                "cart": "ConnectionDoesNotExist",
                "cart_admin": False,
            },
        ),
        (
            "cart",
            {
                "default": "ImproperlyConfigured",
                "product": "ConnectionDoesNotExist",
                "cart": "ok",
                "cart_admin": True,
            },
        ),
    ],
    ids=["edge", "cart-service"],
)
def test_from_phase_1_the_edge_and_the_cart_service_reach_only_their_own_databases(
    serves, expected
):
    # given: the settings a phase-1 process builds (the edge, or the cart service)
    env = service_env(app="cart", phase="1", targets={})
    env["ECOMMERCE_SERVES"] = serves
    # when
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", _PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == expected


def test_the_worker_a_service_starts_serves_its_own_metrics(start_service):
    # given: the order service with its worker, which drives the sagas from phase 3 on
    service = start_service("order", phase="3", worker=True)
    # when: its worker is up
    families = wait_until(
        service.worker_metrics_port,
        lambda f: "saga_stuck" in f and "dead_letter_queue_messages" in f,
    )
    # then: on its own port, with the saga counts only a worker of the order queue reads
    assert health(service.worker_metrics_port) == {"status": "ok", "process": "order-worker"}
    assert value(families, "saga_stuck") == 0
    assert {s.labels["queue"] for s in families["dead_letter_queue_messages"]} == {"order"}
    assert "saga_stuck" not in scrape(service.http_port)  # the gRPC side drives no saga
