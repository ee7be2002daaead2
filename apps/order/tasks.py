"""The orchestrator's Celery tasks: thin wrappers that take ids and call the saga."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import OperationalError

from apps.order import checkout_saga
from apps.order import metrics as saga_metrics
from ecommerce.contracts.errors import InvalidRequest
from ecommerce.contracts.order.commands import ORDER_QUEUE, SagaAdvance, SagaReply, SagaSweep
from ecommerce.observability import metrics
from ecommerce.transports.messaging import CommandTask, send
from ecommerce.wiring.failpoints import failpoint

logger = logging.getLogger(__name__)


def _advance_later(order_id: int, countdown: float | None) -> None:
    send(SagaAdvance(order_id=order_id), countdown=countdown)


def _follow_up(order_id: int, outcome) -> None:
    if isinstance(outcome, checkout_saga.Busy):
        # Another worker holds this saga; look again shortly, in case it stops first.
        _advance_later(order_id, 0.5)
    elif isinstance(outcome, checkout_saga.Wait) and outcome.retry_in is not None:
        _advance_later(order_id, outcome.retry_in)


@shared_task(name=SagaAdvance.name, base=CommandTask)
def saga_advance(**kwargs) -> None:
    failpoint(f"task.{SagaAdvance.name}", error=InvalidRequest)
    command = SagaAdvance.decode(kwargs)
    _follow_up(command.order_id, checkout_saga.saga_advance(order_id=command.order_id))


@shared_task(name=SagaReply.name, base=CommandTask)
def saga_reply(**kwargs) -> None:
    failpoint(f"task.{SagaReply.name}", error=InvalidRequest)
    reply = SagaReply.decode(kwargs)
    outcome = checkout_saga.saga_reply(reply)
    if isinstance(outcome, checkout_saga.Busy):
        # The saga is being driven right now; the reply must still be recorded: send it again.
        send(reply, countdown=0.2)
    else:
        _follow_up(reply.order_id, outcome)


@shared_task(name=SagaSweep.name, base=CommandTask)
def saga_sweep() -> int:
    """Re-drive every saga that has not moved for a while: lost messages cannot strand one."""
    failpoint(f"task.{SagaSweep.name}", error=OperationalError)
    stuck = checkout_saga.sagas_unfinished(older_than=settings.SAGA_STUCK_SECONDS)
    for order_id in stuck:
        _advance_later(order_id, None)
    if stuck:
        logger.info("saga sweep re-drove %d saga(s)", len(stuck))
    return len(stuck)


def saga_recover() -> int:
    """Resume every saga that is not terminal, each from its last recorded step."""
    unfinished = checkout_saga.sagas_unfinished()
    for order_id in unfinished:
        _advance_later(order_id, None)
    logger.info("saga recovery resumed %d saga(s)", len(unfinished))
    return len(unfinished)


@worker_ready.connect
def _recover_on_start(sender=None, **kwargs) -> None:
    consumer = getattr(sender, "task_consumer", None)
    queues = {q.name for q in getattr(consumer, "queues", [])} if consumer else set()
    if ORDER_QUEUE in queues:
        # The worker that drives sagas says, at each scrape, how many are unfinished or stuck.
        metrics.add_collector("sagas", metrics.ScrapeCollector(saga_metrics.unfinished_families))
        saga_recover()
