"""PostgreSQL faults with checkouts in flight: every saga ends, nothing is charged twice.

Connections killed: a separate connection runs `pg_terminate_backend` on every backend of this
run's test databases (and only those), several times, while a gunicorn takes checkouts and
workers drive their sagas. The API answers no 500: a request whose connection was cut is
answered 503 `service_unavailable` in the error shape, with `Retry-After`, and the client's
retry with the same Idempotency-Key gets its order.

Server restarted: the run's test databases are created and migrated on a private cluster
(tests/fixtures/private_services.py), with the gunicorn, the workers and this process on it,
and `pg_ctl restart -m fast` ends every connection while checkouts arrive and sagas run.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from rest_framework.authtoken.models import Token

from apps.order.models import Order
from apps.payment.models import Payment
from apps.product.models import Product
from ecommerce.celery import app
from tests.factories import ProductFactory
from tests.fixtures.private_services import PrivatePostgres, databases_on
from tests.fixtures.remote_phase import remote_phase
from tests.fixtures.web import Gunicorn
from tests.saga.conftest import clean_broker, start_worker, wait_for_orders  # noqa: F401
from tests.saga.flows import shopper

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(databases="__all__", transaction=True),
    pytest.mark.skipif(
        not str(app.conf.broker_url).startswith(("amqp", "pyamqp")) or remote_phase() is not None,
        reason="PostgreSQL faults are services mode's, in phase 0",
    ),
]

STOCK = 40
SHOPPERS = 20
POSTGRES_PORT = int(os.environ.get("FAULTS_POSTGRES_PORT", "25543"))


def _server_dsn() -> str:
    config = settings.DATABASES["default"]
    return (
        f"host={config['HOST'] or '127.0.0.1'} port={config['PORT'] or 5432} "
        f"user={config['USER'] or 'postgres'} dbname=postgres"
    )


def _test_databases() -> list[str]:
    return [connections[alias].settings_dict["NAME"] for alias in settings.DATABASES]


def _terminate(dsn: str, databases: list[str]) -> int:
    """End every backend of `databases` but this connection's own; how many were ended."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
            [databases],
        ).fetchall()
    return sum(1 for (ended,) in rows if ended)


def _post_checkout(url: str, token: str, key: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"{url}/api/checkout",
        data=json.dumps({"payment_method": "pm_card_visa"}).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Token {token}",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


def _checkout_until_placed(url: str, token: str, key: str, answers: list, placed: list) -> None:
    """Check out, retrying a 503 after its Retry-After (the same key: the same order); any
    other answer ends the tries (the test then fails on it)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, body, headers = _post_checkout(url, token, key)
        answers.append((status, body, headers))
        if status in (200, 201):
            placed.append(body["order_id"])
            return
        if status != 503:
            return
        time.sleep(min(float(headers.get("Retry-After", "1")), 1.0))


def _assert_answers(answers: list, log: str) -> None:
    """No 500: a 503 only in the error shape, with Retry-After."""
    refused = [answer[:2] for answer in answers if answer[0] != 201]
    assert {status for status, _ in refused} <= {503}, (refused, log)
    for status, body, headers in answers:
        if status == 503:
            assert body["error"]["code"] == "service_unavailable", body
            assert int(headers["Retry-After"]) >= 1


def _assert_sagas_consistent(order_ids, product, workers, local_stripe) -> None:
    """Every saga ended and completed, each order charged once, stock and payments agree."""
    orders = wait_for_orders(order_ids, timeout=90, workers=workers)
    stats = local_stripe.stats()
    completed = [o for o in orders if o.status == "COMPLETED"]
    failed = [(o.pk, o.failure_reason) for o in orders if o.status == "FAILED"]
    assert len(completed) == len(order_ids), failed
    for order in orders:
        assert stats["charges_by_order"].get(str(order.pk), 0) == 1, order.pk
    assert Product.objects.get(pk=product.pk).stock == STOCK - len(completed)
    succeeded = Payment.objects.filter(order_id__in=order_ids, status="SUCCEEDED")
    assert succeeded.count() == len(completed)
    assert Order.objects.filter(pk__in=order_ids).count() == len(order_ids)


# Sagas retried and swept fast, so the checkouts the faults interrupt finish within the test.
SAGA_ENV = {"SAGA_SWEEP_SECONDS": "1", "SAGA_STUCK_SECONDS": "3", "SAGA_RETRY_BACKOFF_MAX": "2",
            "COMMAND_RETRY_BACKOFF_MAX": "2"}  # fmt: skip


def _shop():
    """A product with stock for every shopper, and each shopper's API token (one line carted)."""
    product = ProductFactory(stock=STOCK, price=900)
    tokens = []
    for _ in range(SHOPPERS):
        user, _client = shopper((product.pk, 1))
        tokens.append(Token.objects.get(user=user).key)
    return product, tokens


def _placers(url, tokens, prefix, answers, order_ids) -> list[threading.Thread]:
    """A thread per shopper that checks out (key `<prefix>-<n>`) until its order is placed."""
    return [
        threading.Thread(
            target=_checkout_until_placed,
            args=(url, tokens[n], f"{prefix}-{n}", answers, order_ids),
        )
        for n in range(SHOPPERS)
    ]


def test_sagas_survive_killed_connections(tmp_path, start_worker, local_stripe):  # noqa: F811
    # given: a gunicorn and two workers on the test databases; charges slowed a little so
    # sagas are mid-way during the kills
    product, tokens = _shop()
    env = dict(SAGA_ENV)
    local_stripe.slow_next(0.2, count=SHOPPERS, match="payment_intents")
    workers = [start_worker(env=env, beat=True), start_worker(env=env)]
    web = Gunicorn(tmp_path, workers=2).wait_ready()
    dsn, databases = _server_dsn(), _test_databases()
    connections.close_all()  # this process's own are ended too
    answers: list = []
    order_ids: list[int] = []
    try:
        # when: checkouts arrive while every backend of the test databases is killed, 8 times
        placing = _placers(web.url, tokens, "kill", answers, order_ids)
        ended = 0
        for n, thread in enumerate(placing):
            thread.start()
            if n % 2 == 1:
                time.sleep(0.15)
                ended += _terminate(dsn, databases)
        for _ in range(4):
            time.sleep(0.3)
            ended += _terminate(dsn, databases)
        for thread in placing:
            thread.join(90)
    finally:
        web.stop()
    # then: no 500; a 503 only in the error shape, with Retry-After; every checkout placed
    assert ended > 0
    _assert_answers(answers, web.log())
    assert len(order_ids) == SHOPPERS
    _assert_sagas_consistent(order_ids, product, workers, local_stripe)


@pytest.fixture
def private_postgres():
    if not PrivatePostgres.available():
        pytest.skip("PostgreSQL 15's initdb is not installed")
    server = PrivatePostgres(port=POSTGRES_PORT)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()


def test_sagas_survive_a_server_restart(tmp_path, private_postgres, start_worker, local_stripe):  # noqa: F811
    env = dict(SAGA_ENV)
    with databases_on(private_postgres, env):
        # given: the test databases on a private cluster, a gunicorn and two workers on it
        product, tokens = _shop()
        local_stripe.slow_next(0.2, count=SHOPPERS, match="payment_intents")
        workers = [start_worker(env=env, beat=True), start_worker(env=env)]
        web = Gunicorn(tmp_path, workers=2, env=env).wait_ready()
        connections.close_all()
        answers: list = []
        order_ids: list[int] = []
        try:
            # when: the server restarts (fast: every connection ended) while checkouts arrive
            placing = _placers(web.url, tokens, "restart", answers, order_ids)
            for thread in placing[: SHOPPERS // 2]:
                thread.start()
            deadline = time.monotonic() + 30
            while not order_ids:
                assert time.monotonic() < deadline, "no checkout placed before the restart"
                time.sleep(0.05)
            in_flight = Order.objects.filter(pk__in=list(order_ids), status="PENDING").count()
            connections.close_all()
            assert private_postgres.restart() < 30
            for thread in placing[SHOPPERS // 2 :]:
                thread.start()
            for thread in placing:
                thread.join(90)
        finally:
            web.stop()
        # then
        _assert_answers(answers, web.log())
        assert len(order_ids) == SHOPPERS
        assert in_flight > 0, "every saga had ended before the restart: nothing was in flight"
        _assert_sagas_consistent(order_ids, product, workers, local_stripe)
