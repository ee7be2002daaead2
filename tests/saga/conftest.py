"""Saga fixtures: a clean broker, a real worker, and helpers to wait for sagas to end."""

from __future__ import annotations

import time

import pytest

from apps.order.models import Order
from tests.fixtures.broker import purge_queues
from tests.fixtures.remote_phase import pass_env_to_services, restore_services
from tests.fixtures.worker import Worker


@pytest.fixture
def clean_broker():
    purge_queues()
    yield
    purge_queues()


@pytest.fixture
def start_worker(tmp_path, clean_broker, local_stripe):
    """Start real `celery worker` processes, pointed at the local Stripe-compatible server;
    every one still running is stopped at the end."""
    started: list[Worker] = []
    reconfigured: list = []

    def start(**options) -> Worker:
        # In a remote phase, settings meant for the code the worker would run in-process go to
        # the service that runs that code now (tests/fixtures/remote_phase.py).
        reconfigured.extend(pass_env_to_services(options.get("env") or {}))
        worker = Worker(tmp_path, **options)
        started.append(worker)
        return worker.wait_ready()

    yield start
    for worker in started:
        worker.stop()
    restore_services(reconfigured)


def wait_for_orders(order_ids, *, timeout: float = 60, workers=()) -> list[Order]:
    """Poll until every order is COMPLETED or FAILED."""
    deadline = time.monotonic() + timeout
    while True:
        orders = list(Order.objects.filter(pk__in=order_ids).order_by("pk"))
        if len(orders) == len(order_ids) and all(o.status != Order.Status.PENDING for o in orders):
            return orders
        if time.monotonic() > deadline:
            pending = [o.pk for o in orders if o.status == Order.Status.PENDING]
            logs = "\n".join(w.log() for w in workers)
            raise AssertionError(f"orders still PENDING after {timeout}s: {pending}\n{logs}")
        time.sleep(0.05)
