"""Redis stopped under a served edge: the catalogue is read from the database, /readyz names
the cache and its address, no shopper's request fails, and once Redis is back (with the data it
saved when it stopped, as a Redis with persistence restarts) nothing stale is served.

The web process and the worker use a Redis of this test's own; the shared one is never touched.
"""

import subprocess
import time

import pytest
import requests
from rest_framework.authtoken.models import Token

from apps.order.models import Order
from tests.factories import ProductFactory, UserFactory
from tests.faults.invariants import assert_consistent, wait_for
from tests.fixtures import processes
from tests.fixtures.services import free_port
from tests.fixtures.web import Gunicorn
from tests.saga.conftest import wait_for_orders

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]


class RedisServer:
    """`redis-server` on a free port, saving to its own directory when it stops."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.workdir), "--save", "3600 1", "--appendonly", "no"],
            stdout=open(self.workdir / "redis.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: Redis saves its data set and exits, as a restart for maintenance does."""
        if self.process is not None:
            processes.stop(self.process)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class Shopper:
    def __init__(self, base: str):
        user = UserFactory()
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=10)

    def post(self, path: str, body: dict, **headers: str) -> requests.Response:
        return self.http.post(self.base + path, json=body, headers=headers, timeout=10)

    def browse_and_add(self, product_id: int, quantity: int) -> None:
        """The requests of a shopper's visit, each answered without a server error."""
        for response in (
            self.get("/api/categories"),
            self.get("/api/products"),
            self.get("/api/products?search=thing"),
            self.get(f"/api/products/{product_id}"),
            self.post("/api/cart/items", {"product_id": product_id, "quantity": quantity}),
            self.get("/api/cart"),
        ):
            assert response.status_code < 400, (response.request.url, response.text)

    def checkout(self, key: str) -> requests.Response:
        return self.post(
            "/api/checkout", {"payment_method": "pm_card_visa"}, **{"Idempotency-Key": key}
        )


def test_a_redis_outage_degrades_to_the_database_and_leaves_nothing_stale(
    redis_server, start_worker, local_stripe, tmp_path
):
    # given: an edge and a worker on this test's Redis; a product with the last few units, its
    # page in the cache
    product = ProductFactory(stock=3, price=1500, name="Thing")
    other = ProductFactory(stock=50, price=400, name="Other thing")
    stock = {product.pk: 3, other.pk: 50}
    before = local_stripe.stats()["charges_by_order"]
    env = {"TEST_REDIS_URL": redis_server.url}
    web = Gunicorn(tmp_path, workers=1, env=env).wait_ready()
    worker = start_worker(env=env)
    try:
        first = Shopper(web.url)
        first.browse_and_add(product.pk, 1)
        assert first.get(f"/api/products/{product.pk}").json()["available"] is True
        assert requests.get(web.url + "/readyz", timeout=10).status_code == 200
        # when: Redis stops
        redis_server.stop()
        # then: the shopper's requests are answered from the database
        second = Shopper(web.url)
        second.browse_and_add(product.pk, 2)
        ready = requests.get(web.url + "/readyz", timeout=10)
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert [name for name, check in checks.items() if not check["ok"]] == ["cache"]
        assert f"127.0.0.1:{redis_server.port}" in checks["cache"]["error"], checks["cache"]
        # and a checkout is taken and ends (the last units sold while Redis is down)
        placed = [first.checkout("redis-first"), second.checkout("redis-second")]
        assert [r.status_code for r in placed] == [201, 201], [r.text for r in placed]
        orders = [r.json()["order_id"] for r in placed]
        finished = wait_for_orders(orders, timeout=60, workers=[worker])
        assert [o.status for o in finished] == [Order.Status.COMPLETED] * 2
        down = Shopper(web.url).get(f"/api/products/{product.pk}")
        assert down.json()["available"] is False
        # when: Redis is back, with what it saved when it stopped
        redis_server.start()
        wait_for(
            lambda: requests.get(web.url + "/readyz", timeout=10).status_code == 200,
            timeout=30,
            what="/readyz to answer 200 again",
        )
        # then: the page cached before the outage is not served (the worker's bumps that Redis
        # missed are sent again once it answers); everything works
        third = Shopper(web.url)
        wait_for(
            lambda: third.get(f"/api/products/{product.pk}").json()["available"] is False,
            timeout=10,
            what="the page saved before the outage to be forgotten",
        )
        listed = {p["id"]: p["available"] for p in third.get("/api/products").json()["results"]}
        assert listed == {product.pk: False, other.pk: True}
        third.browse_and_add(other.pk, 1)
        placed = third.checkout("redis-third")
        assert placed.status_code == 201, placed.text
        finished += wait_for_orders([placed.json()["order_id"]], timeout=60, workers=[worker])
    finally:
        web.stop()
    assert_consistent(finished, charges_before=before, stripe=local_stripe, stock=stock)
    assert "Internal Server Error" not in web.log()
