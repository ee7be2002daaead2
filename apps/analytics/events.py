"""Reading an event off the stream: the envelope and its payload, checked against the contract."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecommerce.outbox import EVENT_TYPES, ORDER_LINE_KEYS, SCHEMA_VERSION

SUPPORTED_SCHEMA_VERSIONS = {SCHEMA_VERSION}
_INTEGERS = {"product_id", "user_id", "order_id", "total", "amount", "quantity", "delta"}
_NON_NEGATIVE = {"total", "amount"}
# Text the aggregates store: PostgreSQL takes neither NUL nor a lone surrogate.
_TEXTS = {"reason", "step", "decline_code", "sku", "name"}
# Integers within JSON's interoperable range (RFC 8259 section 6), so every count and sum the
# aggregates keep, a line's quantity times its price included, fits their 64-bit columns.
MAX_INTEGER = 2**53 - 1
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class InvalidEvent(ValueError):
    """The message is not an event this consumer can count; it goes to the dead-letter topic."""


@dataclass(frozen=True, slots=True)
class Event:
    event_id: uuid.UUID
    event_type: str
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime
    schema_version: int
    payload: dict[str, Any]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INTEGER


def _is_text(value: Any) -> bool:
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_lines(lines: Any) -> None:
    if not isinstance(lines, list):
        raise InvalidEvent("lines is not a list")
    for line in lines:
        if not isinstance(line, dict):
            raise InvalidEvent("a line is not an object")
        for key in ORDER_LINE_KEYS:
            if not _is_int(line.get(key)) or line[key] < 0:
                raise InvalidEvent(f"a line's {key} is not a non-negative integer")
        if line["quantity"] * line["unit_price"] > MAX_INTEGER:
            raise InvalidEvent("a line's total is out of range")


def _check_payload(event_type: str, payload: Any) -> None:
    if not isinstance(payload, dict):
        raise InvalidEvent("payload is not an object")
    missing = [key for key in EVENT_TYPES[event_type] if key not in payload]
    if missing:
        raise InvalidEvent(f"{event_type} payload lacks {', '.join(missing)}")
    for key in EVENT_TYPES[event_type]:
        value = payload[key]
        if key in _INTEGERS and not _is_int(value):
            raise InvalidEvent(f"{key} is not an integer within ±{MAX_INTEGER}")
        if key in _NON_NEGATIVE and value < 0:
            raise InvalidEvent(f"{key} is negative")
        if key in _TEXTS and not _is_text(value):
            raise InvalidEvent(f"{key} is not a string of text (UTF-8, no NUL)")
        if key == "currency" and not (isinstance(value, str) and _CURRENCY.match(value)):
            raise InvalidEvent("currency is not an ISO 4217 code")
        if key == "lines":
            _check_lines(value)


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
    _check_payload(event_type, payload)
    return Event(
        event_id=event_id,
        event_type=event_type,
        aggregate_type=str(aggregate_type),
        aggregate_id=str(aggregate_id),
        occurred_at=occurred_at,
        schema_version=version,
        payload=payload,
    )
