"""One checkout is one trace: the REST request (gunicorn), the saga's Celery tasks and the cart's
command and reply over RabbitMQ (a real worker), the Stripe call (the local Stripe server), the
outbox rows and the relays' Kafka messages, each process exporting its spans over OTLP to a
real receiver; the analytics consumer's span links to that trace."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from apps.order.models import Order
from ecommerce.wiring import resolver
from tests.factories import ProductFactory, UserFactory
from tests.saga.conftest import wait_for_orders
from tests.tracing.summary import summarize

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]

# The phase these tests run in (PHASE=3 runs them with the apps as `serve` processes).
PHASE = settings.ECOMMERCE_PHASE.name
SERVICES = sorted(
    settings.ECOMMERCE_PHASE.extracted | settings.ECOMMERCE_PHASE.monolith_endpoints()
)
FORWARD = ["saga reserve_cart", "saga hold_stock", "saga charge_payment", "saga commit"]
COMPENSATION = ["saga refund_payment", "saga release_stock", "saga release_cart"]


def _shopper(*items: tuple[int, int]) -> str:
    user = UserFactory()
    for product_id, quantity in items:
        resolver.cart().add_item(user_id=user.pk, product_id=product_id, quantity=quantity)
    return Token.objects.create(user=user).key


def _checkout(edge, token: str, key: str, payment_method: str) -> int:
    status, body = edge.post(
        "/api/checkout",
        {"payment_method": payment_method},
        {"Authorization": f"Token {token}", "Idempotency-Key": key},
    )
    assert status == 201, body
    return body["order_id"]


def _trace_of(spans, order_id: int) -> str:
    """The trace whose saga spans carry this order id."""
    (trace_id,) = {s.trace_id for s in spans if s.attributes.get("saga.order_id") == order_id}
    return trace_id


def _has_saga_steps(order_id: int, names: list[str]):
    def done(spans) -> bool:
        seen = {s.name for s in spans if s.attributes.get("saga.order_id") == order_id}
        return set(names) <= seen

    return done


def test_a_checkout_is_one_trace_across_every_process_and_the_consumer_links_to_it(
    traced, otlp_receiver, start_worker, kafka_topics
):
    # given: the edge, the saga's worker, a relay per service the checkout writes to, the consumer
    edge = traced.edge("grpc")
    worker = start_worker(env=traced.env("grpc"))
    for service in ("order", "payment", "product"):
        traced.manage(f"relay-{service}", "relay_outbox", service, ready=f"relay {service} ->")
    traced.manage("analytics", "consume_analytics", ready="analytics consuming")
    mug = ProductFactory(stock=10, price=1200)
    token = _shopper((mug.pk, 2))
    # when
    order_id = _checkout(edge, token, "trace-visa", "pm_card_visa")
    (order,) = wait_for_orders([order_id], workers=[worker])
    assert order.status == Order.Status.COMPLETED
    spans = otlp_receiver.wait_for(_has_saga_steps(order_id, FORWARD))
    trace_id = _trace_of(spans, order_id)
    # the order remembers its trace, and the API (and so the console) shows it
    assert order.trace_id == trace_id
    status, shown = edge.get(f"/api/orders/{order_id}", {"Authorization": f"Token {token}"})
    assert (status, shown["trace_id"]) == (200, trace_id)

    def everything_arrived(spans) -> bool:
        mine = [s for s in spans if s.trace_id == trace_id]
        relays = {s.service for s in mine if s.kind == "PRODUCER" and s.service.startswith("relay")}
        linked = [s for s in spans if s.service == "analytics" and trace_id in dict(s.links)]
        return relays == {"relay-order", "relay-payment", "relay-product"} and bool(linked)

    spans = otlp_receiver.wait_for(everything_arrived)
    # then: one trace, every process in it, one root and no orphan
    mine = [s for s in spans if s.trace_id == trace_id]
    by_id = {s.span_id: s for s in mine}
    assert {s.service for s in mine} >= {
        "edge", "worker", "relay-order", "relay-payment", "relay-product", *SERVICES
    }  # fmt: skip
    (root,) = [s for s in mine if not s.parent_id]
    assert (root.service, root.kind, root.name) == ("edge", "SERVER", "POST api/checkout")
    orphans = [(s.service, s.name) for s in mine if s.parent_id and s.parent_id not in by_id]
    assert orphans == []
    assert {s.resource.get("ecommerce.phase") for s in mine} == {PHASE}

    def parent(span):
        return by_id[span.parent_id]

    def ancestors(span):
        while span.parent_id:
            span = parent(span)
            yield span

    # every gRPC call: a client span in the caller, the server span in the service, one trace
    for server in (s for s in mine if s.kind == "SERVER" and s.attributes.get("rpc.system")):
        client = parent(server)
        assert client.kind == "CLIENT" and client.service != server.service
        assert server.service == server.attributes["rpc.service"].split(".")[0]
    called = {s.service for s in mine if s.kind == "SERVER" and s.attributes.get("rpc.system")}
    assert called == set(SERVICES)
    # the saga's first task was sent while the checkout was served (by the order service)
    writer = "order" if "order" in SERVICES else "edge"
    (first_run,) = [
        s for s in mine if s.name == "run/order.saga_advance" and parent(s).service == writer
    ]
    assert (first_run.service, first_run.kind, parent(first_run).kind) == (
        "worker", "CONSUMER", "PRODUCER"
    )  # fmt: skip
    # the cart's command and its reply crossed RabbitMQ inside the same trace
    (command,) = [s for s in mine if s.name == "run/cart.reserve_items"]
    assert parent(parent(command)).name == "saga reserve_cart"
    assert any(s.name == "run/order.saga_reply" for s in mine)
    # the saga's steps in order, with what they did
    steps = sorted((s for s in mine if s.name in FORWARD), key=lambda s: s.start)
    assert [s.name for s in steps] == FORWARD
    for step in steps:
        assert step.attributes["saga.order_id"] == order_id
        assert step.attributes["saga.step"] == step.name.removeprefix("saga ")
        assert step.attributes["saga.attempt"] == 1
        assert step.attributes["saga.compensation"] is False
    outcomes = {s.name: s.attributes["saga.outcome"] for s in steps}
    assert outcomes == {
        "saga reserve_cart": "awaiting_reply",
        "saga hold_stock": "succeeded",
        "saga charge_payment": "succeeded",
        "saga commit": "succeeded",
    }
    (reply,) = [s for s in mine if s.name == "saga reserve_cart reply"]
    assert reply.attributes["saga.outcome"] == "succeeded"
    # the Stripe calls are HTTP client spans under the charge step (across gRPC in phase 3)
    (charge,) = [s for s in steps if s.name == "saga charge_payment"]
    stripe_calls = [s for s in mine if _url(s).startswith(settings.STRIPE_API_BASE)]
    assert stripe_calls and all(s.kind == "CLIENT" for s in stripe_calls)
    assert all(charge in ancestors(s) for s in stripe_calls)
    stripe_caller = "payment" if "payment" in SERVICES else "worker"
    assert {s.service for s in stripe_calls} == {stripe_caller}
    assert {_url(s).split("?")[0].rsplit("/", 1)[-1] for s in stripe_calls} >= {"confirm"}
    # SQL and Redis are spans too
    assert any(s.attributes.get("db.system") == "postgresql" for s in mine)
    # every outbox row's Kafka message: a PRODUCER span under the span that wrote the row
    published = [s for s in mine if s.kind == "PRODUCER" and s.service.startswith("relay-")]
    types = Counter(s.attributes["ecommerce.event_type"] for s in published)
    assert types["order.created"] == 1 and types["order.completed"] == 1
    assert types["payment.succeeded"] == 1
    assert {parent(s).service for s in published} <= {"edge", "worker", *SERVICES}
    (created,) = [s for s in published if s.attributes["ecommerce.event_type"] == "order.created"]
    assert parent(created).service == writer
    # the consumer counts in its own trace, linked to the messages of this checkout
    consumed = [s for s in spans if s.service == "analytics" and trace_id in dict(s.links)]
    assert all(s.kind == "CONSUMER" and s.trace_id != trace_id for s in consumed)
    linked = {span_id for s in consumed for t, span_id in s.links if t == trace_id}
    assert linked <= {s.span_id for s in published} and linked
    # polling and probes are no one's trace: the relays send only publish spans, and the
    # edge's /healthz (polled until it answered) made none
    assert {s.kind for s in spans if s.service.startswith("relay-")} == {"PRODUCER"}
    assert not [s for s in spans if s.service == "edge" and "healthz" in s.name]
    # gunicorn's access line for the checkout, as JSON, carries the trace
    access = [
        json.loads(line)
        for line in edge.log().splitlines()
        if line.startswith("{") and '"gunicorn.access"' in line and "/api/checkout" in line
    ]
    assert [(a["trace_id"], a["span_id"]) for a in access] == [(trace_id, root.span_id)]
    # the worker's lines are JSON too, Celery's own included; those written in a span carry it
    lines = [json.loads(x) for x in worker.log_path.read_text().splitlines() if x[:1] == "{"]
    assert any(line["logger"] == "celery.apps.worker" for line in lines)
    assert any(line["logger"] == "celery.worker.strategy" for line in lines)
    (done,) = [line for line in lines if line["message"] == f"saga {order_id}: order completed"]
    (commit,) = [s for s in steps if s.name == "saga commit"]
    assert (done["trace_id"], done["span_id"]) == (trace_id, commit.span_id)
    if os.environ.get("TRACE_SUMMARY"):
        Path(os.environ["TRACE_SUMMARY"]).write_text(summarize(spans, trace_id, consumed))


def _url(span) -> str:
    return str(span.attributes.get("url.full") or span.attributes.get("http.url") or "")


def test_a_declined_card_shows_the_compensation_spans_in_reverse_order(
    traced, otlp_receiver, start_worker
):
    # given: the processes export over OTLP's other protocol, http/protobuf
    edge = traced.edge("http/protobuf")
    worker = start_worker(env=traced.env("http/protobuf"))
    cup = ProductFactory(stock=10, price=450)
    token = _shopper((cup.pk, 1))
    # when
    order_id = _checkout(edge, token, "trace-declined", "pm_card_chargeDeclined")
    (order,) = wait_for_orders([order_id], workers=[worker])
    assert (order.status, order.failure_reason) == (Order.Status.FAILED, "payment_declined")
    spans = otlp_receiver.wait_for(
        _has_saga_steps(order_id, [*FORWARD[:3], *COMPENSATION, "saga release_cart reply"])
    )
    # then
    trace_id = _trace_of(spans, order_id)
    mine = [s for s in spans if s.trace_id == trace_id]
    saga = sorted((s for s in mine if s.name.startswith("saga ")), key=lambda s: s.start)
    assert [s.name for s in saga] == [
        "saga reserve_cart",
        "saga reserve_cart reply",
        "saga hold_stock",
        "saga charge_payment",
        *COMPENSATION,
        "saga release_cart reply",
    ]
    (charge,) = [s for s in saga if s.name == "saga charge_payment"]
    assert charge.status == "ERROR"
    assert charge.attributes["saga.outcome"] == "failed"
    assert charge.attributes["saga.failure_reason"] == "payment_declined"
    for step in saga:
        if step.name in COMPENSATION:
            assert step.attributes["saga.compensation"] is True
            assert step.attributes["saga.order_id"] == order_id
    assert otlp_receiver.requests["http/protobuf"] > 0 and otlp_receiver.requests["grpc"] == 0
