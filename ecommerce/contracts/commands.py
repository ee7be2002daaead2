"""What every queue command shares: a typed record sent by name to its service's queue.

A command class names its Celery task (`name`) and the queue that takes it (`queue`); its
fields are the task's keyword arguments. The sender calls `ecommerce.transports.messaging.send(command)`;
the handler reads its arguments back with `Command.decode(kwargs)`, and a command that does not
fit (a string for an id, a missing key) is InvalidRequest: dead-lettered, never retried.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from ecommerce.contracts.errors import InvalidRequest
from ecommerce.contracts.records import InvalidRecord, Record


class Command(Record):
    name: ClassVar[str]
    queue: ClassVar[str]

    @classmethod
    def decode(cls, kwargs: dict[str, Any]) -> Self:
        try:
            return cls.from_payload(kwargs)
        except InvalidRecord as exc:
            raise InvalidRequest(f"malformed command: {exc}") from exc

    @classmethod
    def label(cls) -> str:
        return cls.name
