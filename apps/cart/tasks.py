"""The cart's command handlers: reserve and release items for a checkout, then reply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from celery import shared_task

from ecommerce.contracts.cart.commands import ReleaseItems, ReserveItems
from ecommerce.contracts.errors import Conflict, DomainError, InvalidRequest, ServiceUnavailable
from ecommerce.contracts.order.commands import ReservedLine, SagaReply, StepResult
from ecommerce.transports.messaging import CommandTask, send
from ecommerce.wiring import resolver
from ecommerce.wiring.failpoints import failpoint


def _reply(
    command: ReserveItems | ReleaseItems,
    step: str,
    *,
    ok: bool,
    result: StepResult | None = None,
    error: str = "",
) -> None:
    send(
        SagaReply(
            order_id=command.order_id,
            step=step,
            ok=ok,
            result=result or StepResult(),
            error=error,
        )
    )


def _run(command_type, kwargs: dict, operation: Callable[[Any], Any]):
    """Decode the command and run `operation(command)` on the cart port: its answer, or the
    domain error the cart refused it with (that becomes a failed reply)."""
    failpoint(f"task.{command_type.name}", error=InvalidRequest)
    command = command_type.decode(kwargs)
    try:
        return command, operation(command)
    except (InvalidRequest, ServiceUnavailable):
        raise  # a malformed command is dead-lettered; an outage is retried
    except DomainError as exc:
        return command, exc


@shared_task(name=ReserveItems.name, base=CommandTask)
def reserve_items(**kwargs) -> None:
    command, reservation = _run(
        ReserveItems,
        kwargs,
        lambda c: resolver.cart().reserve(user_id=c.user_id, reservation_key=c.reservation_key),
    )
    if isinstance(reservation, DomainError):
        _reply(command, "reserve_cart", ok=False, error=reservation.code)
        return
    if reservation.status != "RESERVED":
        # The saga already gave this checkout up (a release tombstone): nothing is locked.
        _reply(command, "reserve_cart", ok=False, error="cancelled")
        return
    lines = tuple(
        ReservedLine(**{f.name: getattr(line, f.name) for f in fields(ReservedLine)})
        for line in reservation.items
    )
    result = StepResult(currency=reservation.currency, items=lines)
    _reply(command, "reserve_cart", ok=True, result=result)


@shared_task(name=ReleaseItems.name, base=CommandTask)
def release_items(**kwargs) -> None:
    command, reservation = _run(
        ReleaseItems,
        kwargs,
        lambda c: resolver.cart().release(reservation_key=c.reservation_key, user_id=c.user_id),
    )
    if isinstance(reservation, Conflict):
        # Committed: the checkout's lines already left the cart; there is nothing to give back.
        _reply(command, "release_cart", ok=True, result=StepResult(status="COMMITTED"))
    elif isinstance(reservation, DomainError):
        _reply(command, "release_cart", ok=False, error=reservation.code)
    else:
        _reply(command, "release_cart", ok=True, result=StepResult(status=reservation.status))
