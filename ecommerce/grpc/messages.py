"""Port DTOs to protobuf messages and back, by field name.

Each contract message mirrors a port dataclass field for field (ecommerce/proto says so), so one
mapping serves every service: nested dataclasses become messages, tuples repeated fields,
`datetime` a Timestamp, and `None` an unset optional field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime
from functools import cache
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp


@cache
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _unwrap(hints[f.name])) for f in dataclasses.fields(cls))


def _unwrap(hint: Any) -> Any:
    """`X | None` is X (presence tells None apart); `tuple[X, ...]` and `list[X]` are (list, X)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _unwrap(args[0])
    if origin in (tuple, list):
        return (list, typing.get_args(hint)[0])
    return hint


def fill(message: Message, dto: Any) -> Message:
    """Copy the dataclass `dto` into `message` (a fresh message of the mirroring type)."""
    for name, kind in _fields(type(dto)):
        value = getattr(dto, name)
        if value is None:
            continue
        if isinstance(kind, tuple):
            item = kind[1]
            target = getattr(message, name)
            if dataclasses.is_dataclass(item):
                for element in value:
                    fill(target.add(), element)
            else:
                target.extend(value)
        elif kind is datetime:
            getattr(message, name).FromDatetime(value)
        elif dataclasses.is_dataclass(kind):
            fill(getattr(message, name), value)
        else:
            setattr(message, name, value)
    return message


def to_message(cls: type[Message], dto: Any) -> Message:
    return fill(cls(), dto)


def from_message(cls: type, message: Message) -> Any:
    """The dataclass `cls` rebuilt from a message of the mirroring type."""
    values = {}
    for name, kind in _fields(cls):
        if isinstance(kind, tuple):
            item = kind[1]
            raw = getattr(message, name)
            values[name] = tuple(
                from_message(item, element) if dataclasses.is_dataclass(item) else element
                for element in raw
            )
        elif _absent(message, name):
            values[name] = None
        elif kind is datetime:
            stamp: Timestamp = getattr(message, name)
            values[name] = stamp.ToDatetime(tzinfo=UTC)
        elif dataclasses.is_dataclass(kind):
            values[name] = from_message(kind, getattr(message, name))
        else:
            values[name] = getattr(message, name)
    return cls(**values)


def _absent(message: Message, name: str) -> bool:
    field = message.DESCRIPTOR.fields_by_name[name]
    return field.has_presence and not message.HasField(name)
