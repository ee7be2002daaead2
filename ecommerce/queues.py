"""The broker topology as kombu objects: a work queue per service, each with a dead-letter queue."""

from __future__ import annotations

from kombu import Exchange, Queue

from ecommerce.ports import messages

dead_letter_exchange = Exchange(messages.DEAD_LETTER_EXCHANGE, type="direct", durable=True)


def work_queue(name: str) -> Queue:
    return Queue(
        name,
        Exchange(name, type="direct", durable=True),
        routing_key=name,
        durable=True,
        queue_arguments={
            "x-dead-letter-exchange": messages.DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": messages.dead_letter_queue(name),
        },
    )


def dead_queue(name: str) -> Queue:
    dlq = messages.dead_letter_queue(name)
    return Queue(dlq, dead_letter_exchange, routing_key=dlq, durable=True)


WORK_QUEUES = {name: work_queue(name) for name in messages.QUEUES}
DEAD_QUEUES = {name: dead_queue(name) for name in messages.QUEUES}
