"""The broker topology as kombu objects: a work queue per service, each with a dead-letter queue."""

from __future__ import annotations

from kombu import Exchange, Queue

from phases.services import REGISTRY

# Every service's work queue, as the registry names it (ecommerce.contracts.<service>.commands
# spells the same names for the code that sends to them; tests/phases/test_registry.py checks).
QUEUES: tuple[str, ...] = tuple(s.queue for s in REGISTRY.values() if s.queue)

DEAD_LETTER_EXCHANGE = "ecommerce.dlx"


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dlq"


dead_letter_exchange = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)


def work_queue(name: str) -> Queue:
    return Queue(
        name,
        Exchange(name, type="direct", durable=True),
        routing_key=name,
        durable=True,
        queue_arguments={
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": dead_letter_queue(name),
        },
    )


def dead_queue(name: str) -> Queue:
    dlq = dead_letter_queue(name)
    return Queue(dlq, dead_letter_exchange, routing_key=dlq, durable=True)


WORK_QUEUES = {name: work_queue(name) for name in QUEUES}
DEAD_QUEUES = {name: dead_queue(name) for name in QUEUES}
