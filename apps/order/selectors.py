"""Reads of orders, with their lines and saga history in a constant number of queries, and of
the sagas that need a look."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from apps.order.models import DB, CheckoutSaga, Order, SagaStep
from ecommerce.contracts.errors import InvalidRequest
from ecommerce.contracts.order.errors import OrderNotFound
from ecommerce.contracts.order.port import SAGA_LISTS


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


def sagas_unfinished() -> QuerySet[CheckoutSaga]:
    return CheckoutSaga.objects.using(DB).exclude(state__in=CheckoutSaga.TERMINAL)


def saga_stuck_before() -> datetime:
    """A saga unfinished and not moved since this is stuck: the sweep re-drives it, and the
    `saga_stuck` gauge counts it."""
    return timezone.now() - timedelta(seconds=settings.SAGA_STUCK_SECONDS)


def sagas_stuck() -> QuerySet[CheckoutSaga]:
    return sagas_unfinished().filter(updated_at__lt=saga_stuck_before())


def saga_list(*, state: str, offset: int = 0, limit: int = 20) -> tuple[int, list[CheckoutSaga]]:
    """(how many, the page) of the sagas in `state` (one of SAGA_LISTS), latest moved first."""
    if state not in SAGA_LISTS:
        raise InvalidRequest(
            f"No saga list named {state!r}.", {"state": [f"One of {', '.join(SAGA_LISTS)}."]}
        )
    if offset < 0 or not 1 <= limit <= 100:
        raise InvalidRequest(
            "The offset must be 0 or more and the limit 1 to 100.",
            {"offset": offset, "limit": limit},
        )
    if state == "stuck":
        qs = sagas_stuck()
    else:
        qs = CheckoutSaga.objects.using(DB).filter(state=state.upper())
    qs = qs.select_related("order").order_by("-updated_at", "-id")
    return qs.count(), list(qs[offset : offset + limit])
