"""The checkout saga's floor: what the mandated topology costs with no domain work at all.

A floor checkout keeps what the saga's design makes mandatory and drops everything else:

- two token-authenticated HTTP requests through the full middleware stack (add to cart, check
  out), each writing one row;
- three Celery messages on RabbitMQ with late acks, with the queues' dead-letter topology:
  `start` on the order queue, `reserve` on the cart queue, `reply` back on the order queue;
- one PaymentIntent, created and confirmed in one call through the `stripe` SDK;
- one PostgreSQL commit per step record, each a single statement: the first step's row before
  its command leaves, then the outcome of each of the four steps, the last one also ending the
  order.

The views live in `benchmarks.urls`, the tasks here (the worker loads them with `--include`),
the tables in `benchmarks.saga.FLOOR_SCHEMA`.
"""

from __future__ import annotations

from functools import lru_cache

import stripe
from celery import shared_task
from django.conf import settings
from django.db import connections, transaction

from ecommerce.contracts.cart.commands import CART_QUEUE
from ecommerce.contracts.order.commands import ORDER_QUEUE
from ecommerce.transports.messaging import CommandTask, publish

START = "bench.floor_start"
RESERVE = "bench.floor_reserve"
REPLY = "bench.floor_reply"

_STEP = """
    INSERT INTO bench.floor_step (order_id, name, status) VALUES (%s, %s, %s)
    ON CONFLICT (order_id, name) DO UPDATE SET status = EXCLUDED.status, at = clock_timestamp()
"""


def cart_add(*, user_id: int) -> None:
    with connections["cart"].cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO bench.floor_cart (user_id, quantity) VALUES (%s, 1)
            ON CONFLICT (user_id) DO UPDATE
                SET quantity = bench.floor_cart.quantity + 1, updated_at = now()
            """,
            [user_id],
        )


def checkout(*, user_id: int) -> int:
    with transaction.atomic(using="order"), connections["order"].cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench.floor_order (user_id) VALUES (%s) RETURNING id", [user_id]
        )
        order_id = cursor.fetchone()[0]
        transaction.on_commit(
            lambda: publish(START, ORDER_QUEUE, {"order_id": order_id}), using="order"
        )
    return order_id


def _step(order_id: int, name: str, status: str) -> None:
    with connections["order"].cursor() as cursor:
        cursor.execute(_STEP, [order_id, name, status])


@lru_cache(maxsize=1)
def _stripe() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE.rstrip("/")},
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT),
    )


@shared_task(name=START, base=CommandTask)
def floor_start(*, order_id: int) -> None:
    _step(order_id, "reserve_cart", "STARTED")
    publish(RESERVE, CART_QUEUE, {"order_id": order_id})


@shared_task(name=RESERVE, base=CommandTask)
def floor_reserve(*, order_id: int) -> None:
    publish(REPLY, ORDER_QUEUE, {"order_id": order_id})


@shared_task(name=REPLY, base=CommandTask)
def floor_reply(*, order_id: int) -> None:
    _step(order_id, "reserve_cart", "SUCCEEDED")
    _step(order_id, "hold_stock", "SUCCEEDED")
    _stripe().v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        },
        options={"idempotency_key": f"floor-{order_id}"},
    )
    _step(order_id, "charge_payment", "SUCCEEDED")
    with connections["order"].cursor() as cursor:
        cursor.execute(
            f"""
            WITH step AS ({_STEP})
            UPDATE bench.floor_order SET status = 'COMPLETED', finished_at = clock_timestamp()
            WHERE id = %s
            """,
            [order_id, "commit", "SUCCEEDED", order_id],
        )
