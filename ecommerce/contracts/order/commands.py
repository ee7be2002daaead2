"""The orchestrator's queue: the checkout saga's own work and the replies it waits for."""

from __future__ import annotations

from dataclasses import dataclass

from ecommerce.contracts.commands import Command
from ecommerce.contracts.records import Record, currency, non_negative, positive

ORDER_QUEUE = "order"


@dataclass(frozen=True, kw_only=True)
class SagaAdvance(Command):
    """Drive the order's saga from its last recorded step."""

    name = "order.saga_advance"
    queue = ORDER_QUEUE

    order_id: int = positive()


@dataclass(frozen=True, kw_only=True)
class SagaSweep(Command):
    """Re-drive every saga that has not moved for a while (sent by Celery beat)."""

    name = "order.saga_sweep"
    queue = ORDER_QUEUE


@dataclass(frozen=True, kw_only=True)
class ReservedLine(Record):
    """A cart line as the reservation locked it: what the order will sell."""

    product_id: int = positive()
    sku: str
    name: str
    quantity: int = positive()
    unit_price: int = non_negative()


@dataclass(frozen=True, kw_only=True)
class StepResult(Record):
    """What a reply's step produced: the reserved lines, or a release's final status."""

    currency: str | None = currency(default=None)
    items: tuple[ReservedLine, ...] = ()
    status: str | None = None


@dataclass(frozen=True, kw_only=True)
class SagaReply(Command):
    """A service's answer to a command of the saga: `ok`, or the domain error's code."""

    name = "order.saga_reply"
    queue = ORDER_QUEUE

    order_id: int = positive()
    step: str
    ok: bool
    result: StepResult = StepResult()
    error: str = ""
