"""What every service's events share: the payload is a typed record, the envelope says which.

A service's events are classes in its contract (`ecommerce/contracts/<service>/events.py`),
each naming its `type` (the envelope's `event_type`) and its aggregate. A producer writes one
with `ecommerce.transports.outbox.emit(model, event, using=...)`; a consumer reads it back with
`event_class(event_type).from_payload(payload)`, which refuses a payload that does not fit.
`SCHEMA_VERSION` is the envelope's: a change a consumer could misread bumps it.
"""

from __future__ import annotations

from typing import ClassVar

from ecommerce.contracts.records import Record

SCHEMA_VERSION = 1


class Event(Record):
    type: ClassVar[str]
    aggregate: ClassVar[str]
    # The field whose value identifies the aggregate (the Kafka key keeps its events in order).
    aggregate_key: ClassVar[str]

    @property
    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_key))

    @classmethod
    def label(cls) -> str:
        return cls.type


def event_types(*classes: type[Event]) -> dict[str, type[Event]]:
    return {cls.type: cls for cls in classes}
