"""The parallel run: phase 0 answers in-process and compares its reads with a real `serve`
process of the shadowed service, which reads a database of its own (a copy of the monolith's)."""

from __future__ import annotations

import logging
import time
import urllib.request
from contextlib import ExitStack

import psycopg
import pytest
from django.db import connections
from prometheus_client import REGISTRY

from apps.cart.models import CartItem
from apps.payment.models import Payment
from apps.product.models import StockHold
from ecommerce.contracts.product.port import StockLine
from ecommerce.transports.grpc.contracts import CONTRACTS
from ecommerce.wiring import resolver, shadow
from tests.factories import CategoryFactory, ProductFactory
from tests.fixtures.databases import scratch_database
from tests.fixtures.services import database_url

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def sample(name: str, service: str, operation: str) -> float:
    value = REGISTRY.get_sample_value(name, {"service": service, "operation": operation})
    return value or 0.0


class Counts:
    """The shadow's counters for one service, read now and compared with a later reading."""

    names = ("calls", "mismatches", "errors", "dropped")

    def __init__(self, service: str, operations: tuple[str, ...]) -> None:
        self.service, self.operations = service, operations
        self.start = self.read()

    def read(self) -> dict[str, float]:
        return {
            name: sum(sample(f"shadow_{name}_total", self.service, op) for op in self.operations)
            for name in self.names
        }

    def since(self) -> dict[str, float]:
        assert shadow.wait_idle(20)
        now = self.read()
        return {name: now[name] - self.start[name] for name in self.names}


@pytest.fixture
def copy_database():
    """`copy_database("product")`: a copy of the test's database for that alias, for a
    service of its own; dropped afterwards."""
    server = database_url("default").rsplit("/", 1)[0]
    with ExitStack() as made:

        def copy(alias: str) -> str:
            source = connections[alias].settings_dict["NAME"]
            connections[alias].close()
            return made.enter_context(scratch_database(server, f"{source}_remote", template=source))

        yield copy


@pytest.fixture
def shadow_of(settings, start_service, copy_database):
    """`shadow_of("product", ...)`: phase 0 with SHADOW naming those services, each served by
    a real `serve` process on a copy of its database; returns {service: (process, url)}."""

    def start(*services: str, targets: dict[str, str] | None = None):
        started = {}
        for app in services:
            url = copy_database(app)
            process = start_service(
                app,
                phase="0",
                targets=targets,
                env={f"{app.upper()}_DATABASE_URL": url},
            )
            targets = {**(targets or {}), app: process.address}
            started[app] = (process, url)
        settings.SHADOW = services
        resolver.reset()
        return started

    yield start
    shadow.reset()


def _catalogue():
    coffee = CategoryFactory(name="Coffee", slug="coffee")
    products = [ProductFactory(category=coffee, price=1850 + n, stock=5) for n in range(3)]
    return coffee, products


def test_equal_answers_count_comparisons_and_no_mismatch(shadow_of, api):
    # given: the catalogue shadowed by a product service reading an identical copy
    _, products = _catalogue()
    counts = Counts("product", ("get", "get_many", "list", "categories"))
    service, _ = shadow_of("product")["product"]
    # when: the storefront reads, found and not found
    answers = [
        api.get("/api/products", {"category": "coffee"}),
        api.get(f"/api/products/{products[0].pk}"),
        api.get("/api/products/999999"),
        api.get("/api/categories"),
    ]
    resolver.product().get_many([p.pk for p in products])
    # then: the caller got the in-process answers, each compared once, all equal
    assert [a.status_code for a in answers] == [200, 200, 404, 200]
    assert counts.since() == {"calls": 5, "mismatches": 0, "errors": 0, "dropped": 0}
    assert service.calls_served() >= 5


def test_a_difference_in_the_remote_service_is_counted_and_logged_with_both_answers(
    shadow_of, api, caplog
):
    # given: one product's price changed in the product service's database only
    _, products = _catalogue()
    counts = Counts("product", ("get", "list"))
    counts.start_get = sample("shadow_mismatches_total", "product", "get")
    _, url = shadow_of("product")["product"]
    seeded = products[1]
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE product_product SET price = price + 100 WHERE id = %s", [seeded.pk])
    # when
    with caplog.at_level(logging.WARNING, logger="ecommerce.wiring.shadow"):
        detail = api.get(f"/api/products/{seeded.pk}")
        other = api.get(f"/api/products/{products[0].pk}")
        listed = api.get("/api/products", {"category": "coffee", "ordering": "id"})
        assert shadow.wait_idle(20)
    # then: the caller sees the monolith's price; the detail and the list differ, not the other
    assert detail.json()["price"] == seeded.price and other.status_code == 200
    assert [p["price"] for p in listed.json()["results"]] == [p.price for p in products]
    assert counts.since() == {"calls": 3, "mismatches": 2, "errors": 0, "dropped": 0}
    assert sample("shadow_mismatches_total", "product", "get") - counts.start_get == 1
    logged = [r.getMessage() for r in caplog.records if "shadow mismatch" in r.getMessage()]
    assert len(logged) == 2
    assert f"price: {seeded.price} != {seeded.price + 100}" in logged[0]
    assert f"items[1].price: {seeded.price} != {seeded.price + 100}" in logged[1]
    # both answers, whole
    assert f"price={seeded.price}," in logged[0] and f"price={seeded.price + 100}," in logged[0]


def test_the_remote_service_down_counts_errors_and_the_caller_still_gets_its_answer(shadow_of, api):
    # given
    _, products = _catalogue()
    service, _ = shadow_of("product")["product"]
    assert api.get(f"/api/products/{products[0].pk}").status_code == 200
    assert shadow.wait_idle(20)
    counts = Counts("product", ("get", "categories"))
    # when: the product service stops
    service.stop()
    started = time.monotonic()
    detail = api.get(f"/api/products/{products[1].pk}")
    categories = api.get("/api/categories")
    elapsed = time.monotonic() - started
    # then: the answers are the monolith's, at the monolith's speed; the failures are counted
    assert (detail.status_code, detail.json()["id"]) == (200, products[1].pk)
    assert [c["slug"] for c in categories.json()] == ["coffee"]
    assert elapsed < 1.0
    assert counts.since() == {"calls": 0, "mismatches": 0, "errors": 2, "dropped": 0}


def test_a_full_queue_drops_comparisons_and_counts_them(shadow_of, settings):
    # given: one thread and no queue, the service stopped so each comparison takes a while
    settings.SHADOW_WORKERS, settings.SHADOW_QUEUE = 1, 0
    _, products = _catalogue()
    service, _ = shadow_of("product")["product"]
    service.stop()
    counts = Counts("product", ("get",))
    # when
    for product in products:
        assert resolver.product().get(product.pk).id == product.pk
    # then: the first is compared (and fails), the two that found the pool busy are dropped
    assert counts.since() == {"calls": 0, "mismatches": 0, "errors": 1, "dropped": 2}


def _served(service, method: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{service.http_port}/metrics") as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("grpc_server_handling_seconds_count{")
        and f'grpc_method="{method}"' in line
    )


def test_writes_are_never_shadowed(shadow_of, auth_api, user, local_stripe):
    # given: the catalogue, the cart and payments shadowed, each on a copy of its database
    _, products = _catalogue()
    started = shadow_of("product", "cart", "payment")
    charged_before = local_stripe.stats()["charges_by_order"].get("987654321", 0)
    # when: a cart change, a stock hold and a charge, in-process
    added = auth_api.post(
        "/api/cart/items", {"product_id": products[0].pk, "quantity": 2}, format="json"
    )
    hold = resolver.product().stock_hold(
        hold_key="hold-shadow-1", lines=[StockLine(products[1].pk, 3)]
    )
    payment = resolver.payment().charge(
        order_id=987654321,
        amount=3700,
        currency="USD",
        payment_method="pm_card_visa",
        idempotency_key="charge-shadow-1",
    )
    # reads after them are shadowed (and differ: the copies never saw the writes)
    cart = auth_api.get("/api/cart")
    resolver.payment().get(payment_id=payment.id)
    assert shadow.wait_idle(20)
    # then: each write happened once, in the monolith's database only
    assert added.status_code == 201 and hold.status == "HELD" and payment.status == "SUCCEEDED"
    assert cart.json()["items"][0]["quantity"] == 2
    assert CartItem.objects.filter(cart__user_id=user.pk).count() == 1
    assert StockHold.objects.filter(hold_key="hold-shadow-1").count() == 1
    assert Payment.objects.filter(idempotency_key="charge-shadow-1").count() == 1
    remote_rows = {}
    for app, query in (
        ("cart", "SELECT count(*) FROM cart_cartitem"),
        ("product", "SELECT count(*) FROM product_stockhold"),
        ("payment", "SELECT count(*) FROM payment_payment"),
    ):
        with psycopg.connect(started[app][1]) as conn:
            remote_rows[app] = conn.execute(query).fetchone()[0]
    assert remote_rows == {"cart": 0, "product": 0, "payment": 0}
    charged = local_stripe.stats()["charges_by_order"].get("987654321", 0) - charged_before
    assert charged == 1
    services = {app: process for app, (process, _) in started.items()}
    writes = {
        "AddItem": _served(services["cart"], "AddItem"),
        "HoldStock": _served(services["product"], "HoldStock"),
        "Charge": _served(services["payment"], "Charge"),
    }
    assert writes == {"AddItem": 0, "HoldStock": 0, "Charge": 0}
    assert _served(services["cart"], "GetCart") >= 1
    assert _served(services["payment"], "GetPayment") == 1


def test_only_reads_are_shadowed_and_each_is_marked_retry_safe():
    # given: the RPC tables of every port
    tables = {
        service: CONTRACTS[service].rpcs for service in ("product", "cart", "order", "payment")
    }
    # then: the shadowed operations are operations of the port, each one safe to repeat
    assert set(shadow.READS) == set(tables)
    for service, operations in shadow.READS.items():
        assert operations <= tables[service].keys()
        assert all(tables[service][op].idempotent for op in operations)
    # and every write stays out, the retry-safe ones included
    writes = {
        service: sorted(table.keys() - shadow.READS[service]) for service, table in tables.items()
    }
    assert writes == {
        "product": ["stock_confirm", "stock_hold", "stock_release"],
        "cart": ["add_item", "commit", "release", "remove_item", "reserve", "set_quantity"],
        "order": ["checkout"],
        "payment": ["charge", "find_by_idempotency_key", "refund", "webhook_apply"],
    }
