"""Reads of orders, with their lines and saga history in a constant number of queries."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from apps.order.models import CheckoutSaga, Order, SagaStep
from ecommerce.contracts.order.errors import OrderNotFound


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("saga").prefetch_related(
        "lines",
        Prefetch("saga__steps", queryset=SagaStep.objects.order_by("started_at", "id")),
    )


def order_get(*, order_id: int, user_id: int | None = None) -> Order:
    qs = _orders().filter(pk=order_id)
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    order = qs.first()
    if order is None:
        raise OrderNotFound(f"Order {order_id} does not exist.", {"order_id": order_id})
    return order


def order_list(*, user_id: int, limit: int = 100) -> list[Order]:
    return list(_orders().filter(user_id=user_id).order_by("-created_at", "-id")[:limit])


def saga_of(order: Order) -> CheckoutSaga | None:
    try:
        return order.saga
    except CheckoutSaga.DoesNotExist:
        return None
