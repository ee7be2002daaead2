"""The extraction drill, under load: the catalogue is served beside the monolith, shadowed, cut
over 0 -> 50 -> 100 %, moved to its own database with the phase flipped, and rolled back, while
checkouts keep running; after each stage every saga is terminal, stock is exact, nothing is
charged twice, and every event the services wrote reached analytics once, through the real
relays, a real broker (Tansu) and the real consumer, its counts the databases' counts."""

from __future__ import annotations

import signal
import subprocess
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
from apps.analytics.models import ProcessedEvent
from apps.analytics.selectors import analytics_summary
from apps.cart.models import OutboxEvent as CartOutbox
from apps.order.models import Order, OrderLine
from apps.order.models import OutboxEvent as OrderOutbox
from apps.payment.models import OutboxEvent as PaymentOutbox
from apps.payment.models import Payment
from apps.product.models import OutboxEvent as ProductOutbox
from apps.product.models import Product, StockHold
from ecommerce.contracts.cart.events import CartItemAdded
from ecommerce.contracts.errors import ServiceUnavailable
from ecommerce.contracts.product.events import StockChanged
from ecommerce.models import CutoverShare
from ecommerce.transports import kafka
from ecommerce.wiring import resolver, shadow
from tests.factories import ProductFactory, UserFactory
from tests.fixtures.kafka import manage
from tests.fixtures.metrics import scrape, value
from tests.fixtures.processes import stop
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


def _written(rows_in: str | None) -> dict:
    """Every event the services have written so far, {event id: type}: the outboxes' rows, the
    catalogue's from wherever its rows live now (its outbox moves with them)."""
    events = {}
    for alias, model in (("cart", CartOutbox), ("order", OrderOutbox), ("payment", PaymentOutbox)):
        events.update(model.objects.using(alias).values_list("event_id", "event_type"))
    if rows_in is None:
        events.update(ProductOutbox.objects.using("product").values_list("event_id", "event_type"))
    else:
        with psycopg.connect(rows_in) as conn:
            events.update(conn.execute("SELECT event_id, event_type FROM product_outboxevent"))
    return events


def _counted() -> dict:
    return dict(ProcessedEvent.objects.using("analytics").values_list("event_id", "event_type"))


def check_analytics(stage, order_ids, stripe, charged_before, *, rows_in=None, timeout=90):
    """Every event written so far counted by the consumer exactly once, and the summary's counts
    the orders', the payments' and Stripe's: none lost or doubled across the move."""
    deadline = time.monotonic() + timeout
    while True:  # the consumer catches up: polled, bounded
        written, counted = _written(rows_in), _counted()
        if written.keys() <= counted.keys() or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    lost, unknown = written.keys() - counted.keys(), counted.keys() - written.keys()
    assert not lost and not unknown, (
        f"{stage}: {len(lost)} events never counted {sorted(Counter(written[e] for e in lost))}, "
        f"{len(unknown)} counted that no service wrote"
    )
    totals = analytics_summary(minutes=60, hours=24, top=100)["totals"]
    completed = Order.objects.filter(status=Order.Status.COMPLETED)
    succeeded = Payment.objects.filter(status="SUCCEEDED")
    charges = stripe.stats()["charges_by_order"]
    assert Order.objects.count() == len(order_ids), stage
    expected = {
        "orders_created": len(order_ids),
        "orders_completed": completed.count(),
        "orders_failed": 0,
        "payments_succeeded": succeeded.count(),
        "payments_declined": 0,
        "cart_items_added": sum(t == CartItemAdded.type for t in written.values()),
        "stock_changes": sum(t == StockChanged.type for t in written.values()),
    }
    assert {key: totals[key] for key in expected} == expected, stage
    charged = sum(charges.get(str(o), 0) - charged_before.get(str(o), 0) for o in order_ids)
    assert totals["payments_succeeded"] == charged == len(order_ids), stage
    (usd,) = totals["money"]
    assert usd["revenue"] == sum(o.total for o in completed), stage
    assert usd["captured"] == sum(p.amount for p in succeeded), stage
    sold = Counter()
    for product_id, quantity in OrderLine.objects.values_list("product_id", "quantity"):
        sold[product_id] += quantity
    by_units = analytics_summary(top=100)["top_products"]["by_units"]
    assert {p["product_id"]: p["units"] for p in by_units} == sold, stage
    return len(counted)


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
def processes():
    """The relays and the consumer the test starts, stopped at its end whatever happened."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            stop(process)


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
    kafka_topics,
    processes,
    tmp_path,
):
    # given: phase 0 with a catalogue, the edge (this process), a worker, each service's outbox
    # relay and the analytics consumer, as their own processes on a real broker
    products = [ProductFactory(stock=STOCK, price=700 + n) for n in range(3)]
    ids = [p.pk for p in products]
    charged_before = dict(local_stripe.stats()["charges_by_order"])
    # stage 1, extract: `serve product` beside the monolith, on its rows
    service = start_service("product", phase="0")
    live = {
        "SHADOW": "product",
        "CUTOVER": "product:0",
        "CUTOVER_REFRESH_SECONDS": "0.2",
        # Retries a second apart: a saga's step then needs more attempts than the default 8 (about
        # 15 s at this backoff, minutes at the default one) to wait out the catalogue's move
        # between databases, which takes 20 s or more with the relays and the consumer on the
        # same two cores.
        "SAGA_RETRY_BACKOFF_MAX": "1",
        "SAGA_STEP_MAX_ATTEMPTS": "60",
        "PRODUCT_GRPC_TARGET": service.address,
    }
    worker = start_worker(env=live)
    log = tmp_path / "events.log"
    processes += [manage("relay_outbox", s, "--batch-size", "50", log=log) for s in kafka.SERVICES]
    processes.append(manage("consume_analytics", "--batch-size", "50", log=log))
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
        counted[name] = check_analytics(name, orders, local_stripe, charged_before, rows_in=rows_in)
        load.resume()
        return orders

    counted: dict[str, int] = {}

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
    # the service's relay, on its database, beside the monolith's (whose table is now empty)
    service_relay = manage(
        "relay_outbox", "product", "--batch-size", "50", log=log,
        PRODUCT_DATABASE_URL=service_database,
    )  # fmt: skip
    processes.append(service_relay)
    settings.ECOMMERCE_PHASE = phases.parse("0", "product")
    resolver.reset()
    stage("extracted", 4, rows_in=service_database)
    assert Product.objects.count() == 0
    # stage 5, roll back: the rows come home (with any event the service's relay had not yet
    # sent, for the monolith's relay to send), the phase and the share go back to 0
    service.stop()
    stop(service_relay)
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
    counted["the end"] = check_analytics("the end", order_ids, local_stripe, charged_before)
    assert len(order_ids) >= 24
    assert Order.objects.count() == len(order_ids)  # none lost, none made twice
    for process in processes:
        if process.poll() is None:
            stop(process)
    assert all(p.returncode in (0, -signal.SIGTERM) for p in processes), log.read_text()[-4000:]
    print(
        f"drill: {len(order_ids)} checkouts, {load.retried} answers of 503 tried again, "
        f"{_mismatches() - mismatches_at_start:.0f} shadow mismatches under load, "
        "events counted once by analytics after each stage: "
        + ", ".join(f"{name} {n}" for name, n in counted.items())
    )
    assert worker.log() is not None
