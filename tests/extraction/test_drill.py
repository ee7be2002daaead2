"""The extraction drill, under load: the catalogue is served beside the monolith, shadowed, cut
over 0 -> 50 -> 100 %, moved to its own database with the phase flipped, and rolled back, while
checkouts keep running; after each stage every saga is terminal, stock is exact and nothing is
charged twice."""

from __future__ import annotations

import threading
import time
from collections import Counter

import psycopg
import pytest
from django.core.management import call_command
from django.db import connections
from prometheus_client import REGISTRY
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

import phases
from apps.order.models import Order, OrderLine
from apps.payment.models import Payment
from apps.product.models import Product, StockHold
from ecommerce.contracts.errors import ServiceUnavailable
from ecommerce.models import CutoverShare
from ecommerce.wiring import resolver, shadow
from tests.factories import ProductFactory, UserFactory
from tests.fixtures.metrics import scrape, value
from tests.fixtures.services import database_url, empty_database
from tests.phases.conftest import start_service  # noqa: F401  (a fixture)
from tests.saga.conftest import wait_for_orders

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

STOCK = 500


class Checkouts(threading.Thread):
    """Shoppers one after another: fill a cart, check out; a 503 is tried again, as a client
    would, so an order is placed for every shopper whatever the catalogue is doing."""

    def __init__(self, product_ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.product_ids = product_ids
        self.placed: list[int] = []
        self.retried = 0
        self._stopping = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._idle = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            n = 0
            while not self._stopping.is_set():
                if not self._running.is_set():
                    self._idle.set()
                    self._running.wait(0.1)
                    continue
                self._idle.clear()
                n += 1
                self._one(n)
        finally:
            connections.close_all()

    def _one(self, n: int) -> None:
        user = UserFactory()
        product_id = self.product_ids[n % len(self.product_ids)]
        while True:
            try:
                resolver.cart().add_item(user_id=user.pk, product_id=product_id, quantity=1 + n % 2)
                break
            except ServiceUnavailable:
                self.retried += 1
                time.sleep(0.2)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        while True:
            response = client.post(
                "/api/checkout",
                {"payment_method": "pm_card_visa"},
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"drill-{user.pk}",
            )
            if response.status_code != 503:
                break
            self.retried += 1
            time.sleep(0.2)
        assert response.status_code == 201, response.content
        with self._lock:
            self.placed.append(response.json()["order_id"])

    def count(self) -> int:
        with self._lock:
            return len(self.placed)

    def wait_for(self, more: int, timeout: float = 120) -> None:
        target = self.count() + more
        deadline = time.monotonic() + timeout
        while self.count() < target:
            assert self.is_alive() and time.monotonic() < deadline, "checkouts stopped"
            time.sleep(0.1)

    def pause(self) -> list[int]:
        """Let the checkout in hand finish, start no other; the orders placed so far."""
        self._idle.clear()
        self._running.clear()
        assert self._idle.wait(120), "checkouts did not pause"
        return list(self.placed)

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> list[int]:
        self._stopping.set()
        self.join(120)
        return list(self.placed)


def _stock(product_ids: list[int], url: str | None) -> dict[int, int]:
    """Each product's stock, from wherever the catalogue's rows live now."""
    if url is None:
        return dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "stock"))
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, stock FROM product_product WHERE id = ANY(%s)", [product_ids]
        ).fetchall()
    return dict(rows)


def _held(url: str | None) -> int:
    if url is None:
        return StockHold.objects.filter(status="HELD").count()
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM product_stockhold WHERE status = 'HELD'"
        ).fetchone()[0]


def check_invariants(stage, order_ids, product_ids, stripe, charged_before, *, rows_in=None):
    """Every saga terminal and completed, stock exact, one payment and one charge per order."""
    orders = wait_for_orders(order_ids, timeout=180)
    assert Counter(o.status for o in orders) == {Order.Status.COMPLETED: len(order_ids)}, stage
    sold = Counter()
    for product_id, quantity in OrderLine.objects.filter(order_id__in=order_ids).values_list(
        "product_id", "quantity"
    ):
        sold[product_id] += quantity
    assert _stock(product_ids, rows_in) == {p: STOCK - sold[p] for p in product_ids}, stage
    assert _held(rows_in) == 0, stage
    payments = Counter(
        Payment.objects.filter(order_id__in=order_ids, status="SUCCEEDED").values_list(
            "order_id", flat=True
        )
    )
    assert payments == dict.fromkeys(order_ids, 1), stage
    charges = stripe.stats()["charges_by_order"]
    charged = {o: charges.get(str(o), 0) - charged_before.get(str(o), 0) for o in order_ids}
    assert charged == dict.fromkeys(order_ids, 1), stage


def _served(service, method: str) -> float:
    return value(
        scrape(service.http_port), "grpc_server_handling_seconds_count", grpc_method=method
    )


def _mismatches() -> float:
    return sum(
        REGISTRY.get_sample_value(
            "shadow_mismatches_total", {"service": "product", "operation": op}
        )
        or 0.0
        for op in ("get", "list")
    )


def _set_share(percent: int) -> None:
    CutoverShare.objects.update_or_create(service="product", defaults={"percent": percent})


@pytest.fixture
def service_database():
    """An empty database for the product service, next to the test's, dropped afterwards."""
    with empty_database("product", "drill") as url:
        yield url


def test_the_catalogue_is_extracted_shadowed_cut_over_and_rolled_back_under_load(
    start_service,  # noqa: F811
    start_worker,
    local_stripe,
    settings,
    service_database,
    api,
):
    # given: phase 0 with a catalogue, the edge (this process) and a worker
    products = [ProductFactory(stock=STOCK, price=700 + n) for n in range(3)]
    ids = [p.pk for p in products]
    charged_before = dict(local_stripe.stats()["charges_by_order"])
    # stage 1, extract: `serve product` beside the monolith, on its rows
    service = start_service("product", phase="0")
    live = {
        "SHADOW": "product",
        "CUTOVER": "product:0",
        "CUTOVER_REFRESH_SECONDS": "0.2",
        "SAGA_RETRY_BACKOFF_MAX": "1",
        "PRODUCT_GRPC_TARGET": service.address,
    }
    worker = start_worker(env=live)
    settings.SHADOW, settings.CUTOVER, settings.CUTOVER_REFRESH_SECONDS = (
        ("product",),
        {"product": 0},
        0.2,
    )
    resolver.reset()
    mismatches_at_start = _mismatches()
    load = Checkouts(ids)
    load.start()

    def stage(name: str, checkouts: int, *, rows_in: str | None = None) -> list[int]:
        """Let `checkouts` more be placed, pause, check every order so far, resume."""
        load.wait_for(checkouts)
        orders = load.pause()
        check_invariants(name, orders, ids, local_stripe, charged_before, rows_in=rows_in)
        load.resume()
        return orders

    # stage 2, shadow: the catalogue's reads compared while checkouts run
    stage("shadow", 4)
    assert _served(service, "HoldStock") == 0
    before_reads = _mismatches()
    for product in products:
        assert api.get(f"/api/products/{product.pk}").status_code == 200
    assert shadow.wait_idle(20)
    assert _mismatches() == before_reads
    # stage 3, cut over 0 -> 50 -> 100 %
    _set_share(50)
    stage("50 %", 8)
    held_at_50 = _served(service, "HoldStock")
    _set_share(100)
    time.sleep(0.5)
    placed = len(load.pause())
    load.resume()
    stage("100 %", 4)
    # every saga placed at 100 % held its stock on the service (and those of 50 % that did)
    assert (
        0 < held_at_50 and _served(service, "HoldStock") >= held_at_50 + len(load.placed) - placed
    )
    # stage 4, the phase flips: the rows move to the service's own database under load
    service.stop()
    call_command(
        "move_app_data",
        "product",
        monolith_url=database_url("product"),
        service_url=service_database,
    )
    service.extra_env = {"PRODUCT_DATABASE_URL": service_database}
    service.start(60)
    settings.ECOMMERCE_PHASE = phases.parse("0", "product")
    resolver.reset()
    stage("extracted", 4, rows_in=service_database)
    assert Product.objects.count() == 0
    # stage 5, roll back: the rows come home, the phase and the share go back to 0
    service.stop()
    call_command(
        "move_app_data",
        "product",
        rollback=True,
        monolith_url=database_url("product"),
        service_url=service_database,
    )
    _set_share(0)
    settings.ECOMMERCE_PHASE = phases.parse("0")
    resolver.reset()
    stage("rolled back", 4)
    order_ids = load.stop()
    # then: every checkout of the drill completed once, stock exact, in the monolith again
    check_invariants("the end", order_ids, ids, local_stripe, charged_before)
    assert len(order_ids) >= 24
    assert Order.objects.count() == len(order_ids)  # none lost, none made twice
    print(
        f"drill: {len(order_ids)} checkouts, {load.retried} answers of 503 tried again, "
        f"{_mismatches() - mismatches_at_start:.0f} shadow mismatches under load"
    )
    assert worker.log() is not None
