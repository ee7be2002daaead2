"""Port DTOs to protobuf messages and back, by field name.

Each contract message mirrors a port dataclass field for field (ecommerce/proto says so), so one
mapping serves every service: nested dataclasses become messages, tuples repeated fields,
`datetime` a Timestamp, and `None` an unset optional field. The way to map each class is worked
out once and cached: the mapping runs on every call and must cost little next to the call.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from google.protobuf.message import Message

SCALAR, NESTED, TIMESTAMP, REPEATED_SCALAR, REPEATED_NESTED = range(5)


def unwrap(hint: Any) -> tuple[Any, bool]:
    """(type, repeated): `X | None` is X (presence tells None apart); tuple/list[X] repeat X."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return unwrap(next(a for a in typing.get_args(hint) if a is not type(None)))
    if origin in (tuple, list, collections.abc.Sequence):
        return typing.get_args(hint)[0], True
    return hint, False


Plan = tuple[tuple[str, int, Any], ...]


@cache
def _plan(cls: type) -> Plan:
    hints = typing.get_type_hints(cls)
    return plan_of((field.name, hints[field.name]) for field in dataclasses.fields(cls))


def plan_of(fields: Iterable[tuple[str, Any]]) -> Plan:
    """How to map named, typed values (a dataclass's fields, a function's parameters)."""
    plan = []
    for name, hint in fields:
        kind, repeated = unwrap(hint)
        nested = dataclasses.is_dataclass(kind)
        if repeated:
            op = REPEATED_NESTED if nested else REPEATED_SCALAR
        elif kind is datetime:
            op = TIMESTAMP
        else:
            op = NESTED if nested else SCALAR
        plan.append((name, op, kind))
    return tuple(plan)


@cache
def _optional(descriptor: Any) -> frozenset[str]:
    """Fields of a message type whose absence is visible (optional scalars, messages)."""
    return frozenset(f.name for f in descriptor.fields if f.has_presence and not f.is_repeated)


def fill(message: Message, dto: Any) -> Message:
    """Copy the dataclass `dto` into `message` (a fresh message of the mirroring type)."""
    return fill_values(message, _plan(type(dto)), dto.__getattribute__)


def fill_values(message: Message, plan: Plan, value_of: Callable[[str], Any]) -> Message:
    """Copy the values `plan` names, each read by `value_of(name)`, into `message`."""
    for name, op, _kind in plan:
        value = value_of(name)
        if value is None:
            continue
        if op == SCALAR:
            setattr(message, name, value)
        elif op == NESTED:
            fill(getattr(message, name), value)
        elif op == REPEATED_NESTED:
            target = getattr(message, name)
            for element in value:
                fill(target.add(), element)
        elif op == REPEATED_SCALAR:
            getattr(message, name).extend(value)
        else:
            getattr(message, name).FromDatetime(value)
    return message


def to_message(cls: type[Message], dto: Any) -> Message:
    return fill(cls(), dto)


def from_message(cls: type, message: Message) -> Any:
    """The dataclass `cls` rebuilt from a message of the mirroring type."""
    return cls(**values_from(message, _plan(cls)))


def values_from(message: Message, plan: Plan) -> Mapping[str, Any]:
    """The values `plan` names, read from `message`; an unset optional field is None."""
    optional = _optional(message.DESCRIPTOR)
    values = {}
    for name, op, kind in plan:
        if name in optional and not message.HasField(name):
            values[name] = None
        elif op == SCALAR:
            values[name] = getattr(message, name)
        elif op == NESTED:
            values[name] = from_message(kind, getattr(message, name))
        elif op == REPEATED_NESTED:
            values[name] = tuple(from_message(kind, element) for element in getattr(message, name))
        elif op == REPEATED_SCALAR:
            values[name] = tuple(getattr(message, name))
        else:
            values[name] = getattr(message, name).ToDatetime(tzinfo=UTC)
    return values
