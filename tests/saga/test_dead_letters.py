"""Poison messages end in the dead-letter queue, the worker goes on, and replay sends them back."""

import io
import time

import pytest
from django.core.management import call_command
from kombu import Producer

from apps.cart.models import CartReservation
from apps.order.models import Order
from apps.product.models import Product
from ecommerce.celery import app
from ecommerce.contracts.cart.commands import ReserveItems
from ecommerce.contracts.order.commands import ORDER_QUEUE, SagaAdvance
from ecommerce.transports import dead_letters
from ecommerce.transports.messaging import publish
from ecommerce.transports.queues import WORK_QUEUES
from tests.factories import ProductFactory
from tests.fixtures.metrics import value, wait_until
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

needs_rabbitmq = pytest.mark.skipif(
    not str(app.conf.broker_url).startswith(("amqp", "pyamqp")),
    reason="dead-letter queues are RabbitMQ's (x-dead-letter-exchange); embedded mode's "
    "filesystem broker drops a rejected message",
)


def _wait_for_dead_letters(count: int, timeout: float = 20) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        letters = dead_letters.dead_letters()
        if len(letters) >= count:
            return letters
        time.sleep(0.2)
    raise AssertionError(f"expected {count} dead letters, found {dead_letters.dead_letters()}")


def _depth(queue: str) -> int:
    with app.connection_for_write() as conn:
        return WORK_QUEUES[queue](conn.default_channel).queue_declare(passive=True).message_count


@needs_rabbitmq
def test_a_malformed_command_is_dead_lettered_and_the_worker_keeps_serving(start_worker):
    # given
    worker = start_worker()
    # when: a command with a malformed id, and a message that is not even JSON
    publish(SagaAdvance.name, ORDER_QUEUE, {"order_id": "1; DROP TABLE"})
    with app.connection_for_write() as conn:
        Producer(conn.default_channel).publish(
            b"\x00\xffnot json",
            exchange=WORK_QUEUES["cart"].exchange,
            routing_key="cart",
            content_type="application/json",
            headers={"task": ReserveItems.name, "id": "garbage-1"},
        )
    letters = _wait_for_dead_letters(2)
    # then: both wait in their dead-letter queues, with why they died
    assert sorted((letter.queue, letter.task, letter.reason) for letter in letters) == [
        ("cart", ReserveItems.name, "rejected"),
        ("order", SagaAdvance.name, "rejected"),
    ]
    out = io.StringIO()
    call_command("dlq", "list", stdout=out)
    assert "2 dead letter(s)" in out.getvalue()
    # and the same worker still carries a checkout to its end
    product = ProductFactory(stock=1)
    _, client = shopper((product.pk, 1))
    Product.objects.filter(pk=product.pk).update(stock=0)
    [order] = wait_for_orders([checkout(client, "after-poison")], workers=[worker])
    assert order.failure_reason == "out_of_stock"
    assert worker.process.poll() is None
    assert len(dead_letters.dead_letters()) == 2  # listing consumed nothing


@needs_rabbitmq
def test_a_dead_lettered_command_is_replayed_to_its_queue_and_runs_once(start_worker):
    # given: a cart worker whose reserve handler fails every time
    broken = start_worker(env={"ECOMMERCE_FAILPOINTS": "task.cart.reserve_items=error"})
    product = ProductFactory(stock=1)
    _, client = shopper((product.pk, 1))
    Product.objects.filter(pk=product.pk).update(stock=0)
    order_id = checkout(client, "dlq-replay")
    [letter] = _wait_for_dead_letters(1)
    assert (letter.queue, letter.task) == ("cart", ReserveItems.name)
    broken.stop()
    # when: an operator replays it
    out = io.StringIO()
    call_command("dlq", "replay", "--id", letter.task_id, stdout=out)
    # then: it is back on the cart queue, and a healthy worker finishes the saga
    assert "replayed 1 message(s)" in out.getvalue()
    assert dead_letters.dead_letters() == []
    assert _depth("cart") == 1
    healthy = start_worker()
    [order] = wait_for_orders([order_id], workers=[healthy])
    assert order.status == Order.Status.FAILED
    assert order.failure_reason == "out_of_stock"
    assert CartReservation.objects.filter(reservation_key=f"order-{order_id}").count() == 1


def test_replay_needs_a_target():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("dlq", "replay")


@needs_rabbitmq
def test_a_command_is_retried_a_bounded_number_of_times_before_it_is_dead_lettered(start_worker):
    # given: the cart service answers "unavailable" every time, and commands retry twice
    worker = start_worker(
        env={
            "ECOMMERCE_FAILPOINTS": "task.cart.reserve_items=unavailable",
            "COMMAND_MAX_RETRIES": "2",
            "COMMAND_RETRY_BACKOFF_MAX": "1",
        }
    )
    product = ProductFactory(stock=1)
    _, client = shopper((product.pk, 1))
    # when
    order_id = checkout(client, "flaky-cart")
    [letter] = _wait_for_dead_letters(1, timeout=30)
    # then: three attempts, then the dead-letter queue; the order waits, unharmed
    assert (letter.queue, letter.task) == ("cart", ReserveItems.name)
    # (the worker may log its last retry after the broker already holds the dead letter)
    deadline = time.monotonic() + 10
    while worker.log().count("Retry in") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker.log().count("Retry in") == 2
    assert Order.objects.get(pk=order_id).status == "PENDING"
    # and the worker's /metrics counts the retries and the dead letter waiting
    families = wait_until(
        worker.metrics_port, lambda f: value(f, "dead_letter_queue_messages", queue="cart") == 1
    )
    assert value(families, "celery_task_retries_total", task=ReserveItems.name) == 2
    assert value(families, "dead_letter_queue_messages", queue="cart") == 1
    assert value(families, "dead_letter_queue_messages", queue="order") == 0
