"""Reading an event off the stream: the envelope and its payload, checked against the contract."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecommerce.contracts import events as contract
from ecommerce.contracts.records import MAX_INTEGER, InvalidRecord
from ecommerce.transports.outbox import EVENT_TYPES

SUPPORTED_SCHEMA_VERSIONS = {contract.SCHEMA_VERSION}


class InvalidEvent(ValueError):
    """The message is not an event this consumer can count; it goes to the dead-letter topic."""


@dataclass(frozen=True, slots=True)
class Event:
    """An event off the stream: its envelope and its payload, read back as the contract's type."""

    event_id: uuid.UUID
    event_type: str
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime
    schema_version: int
    payload: contract.Event


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INTEGER


def event_parse(raw: bytes | None) -> Event:
    """The event in a message's value, or InvalidEvent saying what is wrong with it."""
    if not raw:
        raise InvalidEvent("empty message")
    try:
        data = json.loads(raw)
    except ValueError as exc:  # not JSON, not UTF-8, or an integer of too many digits
        raise InvalidEvent(f"not JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidEvent("not JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise InvalidEvent("not a JSON object")
    try:
        event_id = uuid.UUID(str(data["event_id"]))
        event_type = data["event_type"]
        occurred_at = datetime.fromisoformat(data["occurred_at"])
        version = data["schema_version"]
        aggregate_type, aggregate_id = data["aggregate_type"], data["aggregate_id"]
        payload = data["payload"]
    except KeyError as exc:
        raise InvalidEvent(f"envelope lacks {exc.args[0]}") from exc
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"bad envelope: {exc}") from exc
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        raise InvalidEvent(f"unknown event type {event_type!r}")
    if not _is_int(version) or version not in SUPPORTED_SCHEMA_VERSIONS:
        raise InvalidEvent(f"unsupported schema version {version!r}")
    if occurred_at.tzinfo is None:
        raise InvalidEvent("occurred_at has no time zone")
    try:
        occurred_at.astimezone(UTC)  # the aggregates' buckets are in UTC
    except OverflowError as exc:
        raise InvalidEvent("occurred_at is out of range in UTC") from exc
    try:
        typed = EVENT_TYPES[event_type].from_payload(payload)
    except InvalidRecord as exc:
        raise InvalidEvent(str(exc)) from exc
    return Event(
        event_id=event_id,
        event_type=event_type,
        aggregate_type=str(aggregate_type),
        aggregate_id=str(aggregate_id),
        occurred_at=occurred_at,
        schema_version=version,
        payload=typed,
    )
