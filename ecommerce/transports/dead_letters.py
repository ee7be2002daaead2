"""Inspecting and replaying dead-lettered commands (RabbitMQ dead-letter queues)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kombu import Connection, Producer

from ecommerce.celery import app
from ecommerce.transports.messaging import declare_topology
from ecommerce.transports.queues import DEAD_QUEUES, WORK_QUEUES


@dataclass(frozen=True, slots=True)
class DeadLetter:
    queue: str  # the work queue it died on
    task_id: str
    task: str
    kwargs: str
    reason: str
    deaths: int


def _describe(queue: str, message) -> DeadLetter:
    headers = message.headers or {}
    deaths = headers.get("x-death") or [{}]
    try:
        body = message.body.decode() if isinstance(message.body, bytes) else str(message.body)
        decoded = json.loads(body)
        kwargs = json.dumps(
            decoded[1] if isinstance(decoded, list) and len(decoded) > 1 else decoded
        )
    except (ValueError, UnicodeDecodeError):
        kwargs = repr(message.body[:200])
    return DeadLetter(
        queue=queue,
        task_id=str(headers.get("id") or message.properties.get("correlation_id") or ""),
        task=str(headers.get("task") or "?"),
        kwargs=kwargs[:300],
        reason=str(deaths[0].get("reason", "?")),
        deaths=int(sum(d.get("count", 1) for d in deaths)),
    )


@contextmanager
def _connection() -> Iterator[Connection]:
    declare_topology()
    with app.connection_for_write() as conn:
        yield conn


def dead_letters(queues: list[str] | None = None) -> list[DeadLetter]:
    """What sits in the dead-letter queues; nothing is consumed (unacked gets are returned)."""
    found: list[DeadLetter] = []
    with _connection() as conn:
        for name in queues or list(DEAD_QUEUES):
            channel = conn.channel()
            try:
                queue = DEAD_QUEUES[name](channel)
                while (message := queue.get(no_ack=False)) is not None:
                    found.append(_describe(name, message))
            finally:
                channel.close()  # every unacked message goes back to its queue, in order
    return found


def replay(*, task_ids: set[str] | None = None, queues: list[str] | None = None) -> int:
    """Send dead letters back to the queue they died on (all, or those with `task_ids`)."""
    replayed = 0
    with _connection() as conn:
        for name in queues or list(DEAD_QUEUES):
            channel = conn.channel()
            try:
                producer = Producer(channel)
                queue = DEAD_QUEUES[name](channel)
                while (message := queue.get(no_ack=False)) is not None:
                    letter = _describe(name, message)
                    if task_ids is not None and letter.task_id not in task_ids:
                        continue
                    headers = {
                        k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")
                    }
                    producer.publish(
                        message.body,
                        exchange=WORK_QUEUES[name].exchange,
                        routing_key=WORK_QUEUES[name].routing_key,
                        headers=headers,
                        content_type=message.content_type,
                        content_encoding=message.content_encoding,
                        correlation_id=message.properties.get("correlation_id"),
                        delivery_mode=2,
                    )
                    message.ack()
                    replayed += 1
            finally:
                channel.close()
    return replayed


def depths(queues: list[str] | None = None) -> dict[str, int]:
    """Messages waiting in each dead-letter queue (a passive declare: nothing is consumed)."""
    found: dict[str, int] = {}
    with _connection() as conn:
        channel = conn.channel()
        try:
            for name in queues or list(DEAD_QUEUES):
                declared = channel.queue_declare(DEAD_QUEUES[name].name, passive=True)
                found[name] = int(declared.message_count)
        finally:
            channel.close()
    return found


def depth_families(queues: list[str]):
    """`dead_letter_queue_messages{queue}` for the queues a worker consumes, read at scrape."""
    from prometheus_client.core import GaugeMetricFamily

    family = GaugeMetricFamily(
        "dead_letter_queue_messages",
        "Messages in the dead-letter queue of each work queue this worker consumes.",
        labels=["queue"],
    )
    for name, count in depths(queues).items():
        family.add_metric([name], count)
    return [family]
