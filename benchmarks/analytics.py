"""Benchmark of the event pipeline: relay publish rate, consumer events/s, end-to-end lag.

    make bench-analytics            (or: .venv/bin/python -m benchmarks.analytics --help)

Runs against the local PostgreSQL (database `ecommerce_bench`, every alias in its own schema,
created if missing) and a Tansu broker it starts on a free port. Three measurements:

1. relay: N events already in the order outbox, one in-process relay publishes them all;
2. consumer: the same N events on the topic, one consumer counts them (from its first batch
   to the last, so the group join is not counted);
3. steady load: outbox rows committed at a fixed rate while a relay process and a consumer
   process run; lag = aggregate written (processed_at) - outbox row written (occurred_at).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup(database_url: str) -> None:
    import psycopg

    server, _, name = database_url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["ECOMMERCE_MODE"] = "services"
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings.services"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_all", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115


def _payloads(rng: random.Random, order_id: int) -> list[tuple[str, str, int, dict]]:
    """A realistic mix: cart activity, an order, its payment and outcome."""
    user = rng.randint(1, 5000)
    product = rng.randint(1, 200)
    quantity = rng.randint(1, 3)
    total = quantity * 1250
    lines = [{"product_id": product, "quantity": quantity, "unit_price": 1250}]
    order = {"order_id": order_id, "user_id": user, "total": total, "currency": "USD"}
    mix = [
        ("cart.item_added", "cart", user, {"user_id": user, "product_id": product, "quantity": 1}),
        ("order.created", "order", order_id, order | {"lines": lines}),
    ]
    if rng.random() < 0.8:
        mix.append(("order.completed", "order", order_id, order | {"lines": lines}))
    else:
        mix.append(
            (
                "saga.step_failed",
                "order",
                order_id,
                {"order_id": order_id, "step": "charge_payment", "reason": "payment_declined"},
            )
        )
        mix.append(
            (
                "order.failed",
                "order",
                order_id,
                {"order_id": order_id, "user_id": user, "reason": "payment_declined"},
            )
        )
    return mix


def _rows(count: int, *, seed: int, start_id: int = 1):
    from django.utils import timezone

    from apps.order.models import OutboxEvent

    rng = random.Random(seed)
    rows, order_id = [], start_id
    while len(rows) < count:
        for event_type, aggregate, agg_id, payload in _payloads(rng, order_id):
            rows.append(
                OutboxEvent(
                    event_id=uuid.uuid4(),
                    event_type=event_type,
                    aggregate_type=aggregate,
                    aggregate_id=str(agg_id),
                    occurred_at=timezone.now(),
                    payload=payload,
                )
            )
        order_id += 1
    return rows[:count], order_id


def _reset() -> None:
    from django.db import connections

    from apps.analytics import models as analytics
    from apps.order.models import OutboxEvent

    OutboxEvent.objects.using("order").all().delete()
    with connections["analytics"].cursor() as cursor:
        tables = [
            m._meta.db_table
            for m in (
                analytics.ProcessedEvent,
                analytics.ActivityBucket,
                analytics.RevenueBucket,
                analytics.FailureCount,
                analytics.ProductSales,
                analytics.CatalogueEntry,
                analytics.Shopper,
            )
        ]
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables))


def bench_relay(count: int) -> float:
    from apps.order.models import OutboxEvent
    from ecommerce.transports.relay import OutboxRelay

    rows, _ = _rows(count, seed=1)
    OutboxEvent.objects.using("order").bulk_create(rows, batch_size=2000)
    relay = OutboxRelay("order")
    started = time.perf_counter()
    published = 0
    while published < count:
        published += relay.run_once().confirmed
    return count / (time.perf_counter() - started)


def bench_consumer(count: int) -> float:
    from apps.analytics.consumer import AnalyticsConsumer

    consumer = AnalyticsConsumer()
    first_batch: list[float] = []
    process = consumer.process

    def timed(messages):
        if not first_batch:
            first_batch.append(time.perf_counter())
        process(messages)

    consumer.process = timed
    deadline = time.monotonic() + 120
    progress = consumer.stats
    stats = consumer.run(
        should_stop=lambda: progress.messages >= count or time.monotonic() > deadline
    )
    if stats.messages < count:
        raise SystemExit(f"consumer counted only {stats.messages} of {count} in 120 s")
    rate = count / (time.perf_counter() - first_batch[0])
    del consumer.process  # the timing wrapper's reference cycle, so the clients close now
    del consumer
    gc.collect()
    return rate


def _spawn(*args: str, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def bench_steady(rate: int, seconds: int, *, log) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from apps.analytics.models import ProcessedEvent
    from apps.order.models import OutboxEvent

    relay = _spawn("relay_outbox", "order", log=log)
    consumer = _spawn("consume_analytics", log=log)
    try:
        # The clock starts once a probe event has gone all the way through: the relay runs and
        # the consumer has joined its group (about 3 s on Tansu).
        probe, next_order = _rows(1, seed=0, start_id=9_000_000)
        OutboxEvent.objects.using("order").bulk_create(probe)
        deadline = time.monotonic() + 60
        while not ProcessedEvent.objects.using("analytics").exists():
            if time.monotonic() > deadline:
                raise SystemExit("the relay and consumer processes did not start within 60 s")
            time.sleep(0.1)
        measured_from = timezone.now()
        tick = 0.01
        per_tick = max(1, round(rate * tick))
        written = 0
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            due = int(elapsed / tick) * per_tick
            if written < due:
                rows, next_order = _rows(min(due - written, 200), seed=written, start_id=next_order)
                now = timezone.now()
                for row in rows:
                    row.occurred_at = now
                with transaction.atomic(using="order"):
                    OutboxEvent.objects.using("order").bulk_create(rows)
                written += len(rows)
            else:
                time.sleep(tick / 4)
        achieved = written / (time.perf_counter() - started)
        deadline = time.monotonic() + 60
        while ProcessedEvent.objects.using("analytics").count() < written + 1:
            if time.monotonic() > deadline:
                raise SystemExit("the consumer did not catch up within 60 s")
            time.sleep(0.2)
    finally:
        for process in (relay, consumer):
            process.terminate()
            process.wait(20)
    lags = sorted(
        (processed - occurred) / timedelta(milliseconds=1)
        for occurred, processed in ProcessedEvent.objects.using("analytics")
        .filter(occurred_at__gte=measured_from)
        .values_list("occurred_at", "processed_at")
    )
    quantiles = statistics.quantiles(lags, n=100)
    return {
        "achieved": achieved,
        "events": written,
        "p50": quantiles[49],
        "p99": quantiles[98],
        "max": lags[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=30_000, help="for the relay and consumer runs"
    )
    parser.add_argument("--rate", type=int, default=1000, help="steady load, events/s")
    parser.add_argument("--seconds", type=int, default=20, help="steady load duration")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ecommerce_bench"
        ),
    )
    args = parser.parse_args()
    _setup(args.database_url)

    from django.conf import settings
    from django.core.management import call_command

    from ecommerce.devservers import kafka_broker

    broker, port = kafka_broker.start()
    try:
        bootstrap = f"127.0.0.1:{port}"
        prefix = f"bench{int(time.time())}."
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = settings.KAFKA_BOOTSTRAP_SERVERS = bootstrap
        os.environ["KAFKA_TOPIC_PREFIX"] = settings.KAFKA_TOPIC_PREFIX = prefix
        group = f"{prefix}analytics"
        os.environ["ANALYTICS_CONSUMER_GROUP"] = settings.ANALYTICS_CONSUMER_GROUP = group
        call_command("kafka_topics", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        print(f"machine: {os.cpu_count()} cores; Tansu (memory) and PostgreSQL on this machine")
        _reset()
        relay_rate = bench_relay(args.events)
        print(
            f"relay publish rate:   {relay_rate:8.0f} events/s  ({args.events} events, one relay)"
        )
        consumer_rate = bench_consumer(args.events)
        print(
            f"consumer:             {consumer_rate:8.0f} events/s  ({args.events} events, one process)"
        )
        # The steady run uses its own group, reading from the start of fresh topics.
        prefix = f"{prefix}steady."
        os.environ["KAFKA_TOPIC_PREFIX"] = settings.KAFKA_TOPIC_PREFIX = prefix
        os.environ["ANALYTICS_CONSUMER_GROUP"] = f"{prefix}analytics"
        call_command("kafka_topics", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        _reset()
        with open(ROOT / "var" / "bench-analytics.log", "wb") as log:
            steady = bench_steady(args.rate, args.seconds, log=log)
        print(
            f"steady load:          {steady['achieved']:8.0f} events/s offered for {args.seconds} s "
            f"({steady['events']} events; relay and consumer as processes)"
        )
        print(
            f"end-to-end lag:       p50 {steady['p50']:.0f} ms, p99 {steady['p99']:.0f} ms, "
            f"max {steady['max']:.0f} ms  (outbox row written -> aggregate written)"
        )
        goals = consumer_rate >= 5000 and steady["p99"] <= 2000
        print(f"goals (consumer >= 5,000 events/s, lag p99 <= 2 s): {'met' if goals else 'MISSED'}")
    finally:
        broker.terminate()
        broker.wait(10)


if __name__ == "__main__":
    main()
