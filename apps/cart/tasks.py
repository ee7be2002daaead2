"""The cart's command handlers: reserve and release items for a checkout, then reply."""

from __future__ import annotations

from dataclasses import fields

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


@shared_task(name=ReserveItems.name, base=CommandTask)
def reserve_items(**kwargs) -> None:
    failpoint(f"task.{ReserveItems.name}", error=InvalidRequest)
    command = ReserveItems.decode(kwargs)
    try:
        reservation = resolver.cart().reserve(
            user_id=command.user_id, reservation_key=command.reservation_key
        )
    except (InvalidRequest, ServiceUnavailable):
        raise  # a malformed command is dead-lettered; an outage is retried
    except DomainError as exc:
        _reply(command, "reserve_cart", ok=False, error=exc.code)
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
    failpoint(f"task.{ReleaseItems.name}", error=InvalidRequest)
    command = ReleaseItems.decode(kwargs)
    try:
        reservation = resolver.cart().release(
            reservation_key=command.reservation_key, user_id=command.user_id
        )
    except (InvalidRequest, ServiceUnavailable):
        raise
    except Conflict:
        # Committed: the checkout's lines already left the cart; there is nothing to give back.
        _reply(command, "release_cart", ok=True, result=StepResult(status="COMMITTED"))
        return
    except DomainError as exc:
        _reply(command, "release_cart", ok=False, error=exc.code)
        return
    _reply(command, "release_cart", ok=True, result=StepResult(status=reservation.status))
