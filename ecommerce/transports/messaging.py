"""Sending commands over the broker, with the queue topology (dead-letter exchange included).

Every queue is declared with a dead-letter exchange: a message its consumer rejects after
bounded retries moves to `<queue>.dlq` instead of blocking the queue or vanishing.
"""

from __future__ import annotations

import threading
from typing import Any

from celery.signals import task_retry
from django.conf import settings
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as KombuOperationalError
from prometheus_client import Counter

from ecommerce.celery import app
from ecommerce.contracts.commands import Command
from ecommerce.contracts.errors import ServiceUnavailable
from ecommerce.transports.queues import DEAD_QUEUES, WORK_QUEUES

TASK_RETRIES = Counter(
    "celery_task_retries_total",
    "Celery tasks retried (autoretry or self.retry), by task.",
    ["task"],
)

_declared = threading.Event()
_declare_lock = threading.Lock()


def declare_topology() -> None:
    """Declare every work queue and its dead-letter queue once per process.

    Publishing to a queue nobody declared yet would drop the message, so senders declare too.
    """
    if _declared.is_set():
        return
    with _declare_lock:
        if _declared.is_set():
            return
        if app.conf.broker_url and app.conf.broker_url.startswith(("amqp", "pyamqp")):
            with app.connection_for_write() as conn:
                channel = conn.default_channel
                for queue in (*WORK_QUEUES.values(), *DEAD_QUEUES.values()):
                    queue(channel).declare()
        _declared.set()


def send(command: Command, *, countdown: float | None = None) -> None:
    """Publish `command` to its service's queue, by task name: apps never import each other's
    tasks, only the command classes of the contract."""
    publish(command.name, command.queue, command.to_payload(), countdown=countdown)


def publish(
    name: str, queue: str, kwargs: dict[str, Any], *, countdown: float | None = None
) -> None:
    """Publish a task by name with these keyword arguments, checked by no contract: what
    `send` does, and what a test needs to send a command no contract would make."""
    declare_topology()
    app.send_task(
        name, kwargs=kwargs, queue=WORK_QUEUES[queue], routing_key=queue, countdown=countdown
    )


class CommandTask(app.Task):
    """A command handler: acknowledged only once handled, retried on transport errors, and
    dead-lettered (rejected without requeue) when it fails for good.

    Handlers must be idempotent: a message is redelivered after a worker dies mid-task.
    """

    abstract = True
    acks_late = True
    reject_on_worker_lost = True
    acks_on_failure_or_timeout = False
    autoretry_for = (OperationalError, InterfaceError, KombuOperationalError, ServiceUnavailable)
    retry_backoff = True
    retry_backoff_max = settings.COMMAND_RETRY_BACKOFF_MAX
    retry_jitter = True
    max_retries = settings.COMMAND_MAX_RETRIES


@task_retry.connect
def _count_retry(sender=None, request=None, **kwargs) -> None:
    TASK_RETRIES.labels(getattr(request, "task", None) or getattr(sender, "name", "?")).inc()
