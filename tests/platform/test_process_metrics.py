"""Every process of phase 0 serves /metrics and /healthz on its own port, and after real
checkouts each one's series say what happened: the edge (gunicorn, two workers, one scrape)
started the sagas, the worker ran them and called Stripe, each relay published its service's
outbox, the consumer counted every event and dead-lettered the one it could not read."""

from __future__ import annotations

import json
import urllib.request

import pytest
from confluent_kafka import Producer
from rest_framework.authtoken.models import Token

from apps.product.models import Product
from ecommerce.transports import kafka
from ecommerce.transports.relay import outbox_model
from ecommerce.wiring import resolver
from tests.factories import ProductFactory, UserFactory
from tests.fixtures.kafka import manage
from tests.fixtures.metrics import health, scrape, value, wait_until
from tests.fixtures.remote_phase import remote_phase
from tests.fixtures.services import free_port
from tests.fixtures.web import Gunicorn
from tests.saga.conftest import wait_for_orders

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(databases="__all__", transaction=True),
    pytest.mark.skipif(remote_phase() is not None, reason="the phase 0 processes"),
]


def _checkout(web: Gunicorn, token: str, key: str, method: str) -> int:
    request = urllib.request.Request(
        f"{web.url}/api/checkout",
        data=json.dumps({"payment_method": method}).encode(),
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())["order_id"]


def _shopper(*items: tuple[int, int]) -> str:
    user = UserFactory()
    for product_id, quantity in items:
        resolver.cart().add_item(user_id=user.pk, product_id=product_id, quantity=quantity)
    return Token.objects.create(user=user).key


def _outbox_rows(service: str) -> int:
    return outbox_model(service).objects.using(service).count()


def test_every_process_serves_its_metrics_and_a_checkout_shows_in_each(
    tmp_path, start_worker, kafka_topics, local_stripe
):
    # given: the processes of phase 0, each on its own metrics port
    ports = {f"relay-{s}": free_port() for s in kafka.SERVICES}
    ports |= {"analytics": free_port(), "reconcile-payments": free_port()}
    log = tmp_path / "processes.log"
    started = [
        manage("relay_outbox", s, log=log, METRICS_PORT=str(ports[f"relay-{s}"]))
        for s in kafka.SERVICES
    ]
    started.append(manage("consume_analytics", log=log, METRICS_PORT=str(ports["analytics"])))
    started.append(
        manage(
            "reconcile_payments",
            "--every",
            "60",
            log=log,
            METRICS_PORT=str(ports["reconcile-payments"]),
            **local_stripe.env(),
        )
    )
    web = Gunicorn(tmp_path, workers=2)
    worker = start_worker()
    try:
        web.wait_ready()
        mug = ProductFactory(stock=10, price=1200)
        paid, declined = _shopper((mug.pk, 2)), _shopper((mug.pk, 1))
        # when: one checkout that completes, one whose card is declined
        orders = [
            _checkout(web, paid, "metrics-paid", "pm_card_visa"),
            _checkout(web, declined, "metrics-declined", "pm_card_chargeDeclined"),
        ]
        wait_for_orders(orders, workers=[worker])
        # and a message on the order topic that is no event at all
        producer = Producer(kafka.producer_config())
        producer.produce(kafka.service_topic("order"), key=b"x", value=b"not an event")
        producer.flush(10)
        rows = {s: _outbox_rows(s) for s in kafka.SERVICES}
        relays = {
            s: wait_until(
                ports[f"relay-{s}"],
                lambda f, s=s: (
                    value(f, "outbox_backlog", service=s) == 0
                    and value(f, "outbox_relay_published_total", service=s) == rows[s]
                ),
            )
            for s in kafka.SERVICES
        }
        consumer = wait_until(
            ports["analytics"],
            lambda f: (
                value(f, "analytics_events_processed_total", outcome="counted")
                == sum(rows.values())
                and value(f, "analytics_events_dead_lettered_total") == 1
                and len(f.get("analytics_consumer_lag", [])) == 3 * len(kafka.SERVICES)
                and value(f, "analytics_consumer_lag") == 0
            ),
            timeout=60,
        )
        edge = scrape(web.port)
        saga = scrape(worker.metrics_port)
        reconciler = scrape(ports["reconcile-payments"])
        healthy = [
            health(port)["status"] for port in [web.port, worker.metrics_port, *ports.values()]
        ]
    finally:
        web.stop()
        for process in started:
            process.terminate()
        for process in started:
            process.wait(15)
    # then: every process is up and scraped on its own port
    assert healthy == ["ok"] * (2 + len(ports))
    # the edge's two workers, in one scrape: both checkouts started a saga
    assert value(edge, "saga_started_total") == 2
    # the worker ran both sagas: one completed, one declined and compensated in reverse
    assert value(saga, "saga_completed_total") == 1
    assert value(saga, "saga_failed_total", reason="payment_declined") == 1
    assert value(saga, "saga_failed_total") == 1
    # and how long each took from its order to its end
    assert value(saga, "saga_duration_seconds_count", outcome="completed") == 1
    assert value(saga, "saga_duration_seconds_count", outcome="failed") == 1
    steps = {
        (s.labels["step"], s.labels["outcome"]): s.value
        for s in saga["saga_step_duration_seconds"]
        if s.name.endswith("_count")
    }
    assert steps == {
        ("reserve_cart", "succeeded"): 2,
        ("hold_stock", "succeeded"): 2,
        ("charge_payment", "succeeded"): 1,
        ("charge_payment", "failed"): 1,
        ("commit", "succeeded"): 1,
    }
    compensations = {
        (s.labels["step"], s.labels["outcome"]): s.value
        for s in saga["saga_compensation_duration_seconds"]
        if s.name.endswith("_count")
    }
    assert compensations == {
        ("refund_payment", "succeeded"): 1,
        ("release_stock", "succeeded"): 1,
        ("release_cart", "succeeded"): 1,
    }
    assert value(saga, "saga_step_duration_seconds_sum") > 0
    assert value(saga, "saga_unfinished") == 0 and value(saga, "saga_stuck") == 0
    assert (
        value(saga, "stripe_request_duration_seconds_count", operation="payment_intent.create") == 2
    )
    assert (
        value(saga, "stripe_request_duration_seconds_count", operation="payment_intent.confirm")
        == 2
    )
    assert (
        value(
            saga, "stripe_errors_total", operation="payment_intent.confirm", error="PaymentDeclined"
        )
        == 1
    )
    assert value(saga, "stripe_errors_total") == 1
    assert {s.labels["queue"]: s.value for s in saga["dead_letter_queue_messages"]} == {
        "order": 0,
        "cart": 0,
    }
    # each relay published its own service's outbox, and nothing is left
    for service, families in relays.items():
        assert value(families, "outbox_relay_published_total", service=service) == rows[service]
        assert value(families, "outbox_backlog", service=service) == 0
        assert value(families, "outbox_oldest_unpublished_age_seconds", service=service) == 0
        assert value(families, "outbox_relay_errors_total") == 0
    assert rows["order"] >= 4 and rows["payment"] == 2
    # the consumer counted every event once, dead-lettered the one it could not read, caught up
    assert value(consumer, "analytics_events_processed_total", outcome="counted") == sum(
        rows.values()
    )
    order_topic = kafka.service_topic("order")
    assert value(consumer, "analytics_events_dead_lettered_total", topic=order_topic) == 1
    lag = {(s.labels["topic"], s.labels["partition"]) for s in consumer["analytics_consumer_lag"]}
    assert lag == {(kafka.service_topic(s), str(p)) for s in kafka.SERVICES for p in range(3)}
    assert value(consumer, "analytics_consumer_lag") == 0
    # the reconciler is scraped too, with the Stripe series of the calls it would make
    assert "payment_reconciled" in reconciler and "stripe_request_duration_seconds" in reconciler
    assert Product.objects.get(pk=mug.pk).stock == 8
