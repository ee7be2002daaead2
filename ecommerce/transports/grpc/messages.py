"""Port DTOs to protobuf messages and back, by field name.

Each contract message mirrors a port dataclass field for field (each service's .proto says so), so one
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


class MessageMappingError(ValueError):
    """A value that its message or dataclass cannot hold (an integer out of the field's range,
    text that is not UTF-8, a timestamp out of range), named by class and field."""

    def __init__(self, where: str, problem: object) -> None:
        self.where, self.problem = where, problem
        super().__init__(f"{where}: {problem}")

    def within(self, owner: str) -> MessageMappingError:
        return MessageMappingError(f"{owner}.{self.where}", self.problem)


def unwrap(hint: Any) -> tuple[Any, bool]:
    """(type, repeated): `X | None` is X (presence tells None apart); tuple/list[X] repeat X."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return unwrap(next(a for a in typing.get_args(hint) if a is not type(None)))
    if origin in (tuple, list, collections.abc.Sequence):
        return typing.get_args(hint)[0], True
    return hint, False


# (name, how to map it, its type, whether None is one of its values)
Plan = tuple[tuple[str, int, Any, bool], ...]


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
        plan.append((name, op, kind, _nullable(hint)))
    return tuple(plan)


def _nullable(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    return origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


@cache
def _optional(descriptor: Any) -> frozenset[str]:
    """Fields of a message type whose absence is visible (optional scalars, messages)."""
    return frozenset(f.name for f in descriptor.fields if f.has_presence and not f.is_repeated)


def fill(message: Message, dto: Any) -> Message:
    """Copy the dataclass `dto` into `message` (a fresh message of the mirroring type).

    Raises MessageMappingError naming the first field the message cannot hold.
    """
    return fill_values(message, _plan(type(dto)), dto.__getattribute__, type(dto).__name__)


def fill_values(
    message: Message, plan: Plan, value_of: Callable[[str], Any], owner: str = ""
) -> Message:
    """Copy the values `plan` names, each read by `value_of(name)`, into `message`; `owner`
    names them in a MessageMappingError (a dataclass, a port method's arguments)."""
    owner = owner or message.DESCRIPTOR.name
    for name, op, _kind, _ in plan:
        value = value_of(name)
        if value is None:
            continue
        try:
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
        except MessageMappingError as exc:
            raise exc.within(owner) from None
        except (ValueError, TypeError, OverflowError) as exc:  # what protobuf says of a value
            raise MessageMappingError(f"{owner}.{name}", exc) from exc
    return message


def from_message(cls: type, message: Message) -> Any:
    """The dataclass `cls` rebuilt from a message of the mirroring type.

    Raises MessageMappingError naming a field whose value the dataclass cannot hold.
    """
    return cls(**values_from(message, _plan(cls), cls.__name__))


def values_from(message: Message, plan: Plan, owner: str = "") -> Mapping[str, Any]:
    """The values `plan` names, read from `message`; an unset optional field is None."""
    owner = owner or message.DESCRIPTOR.name
    optional = _optional(message.DESCRIPTOR)
    values = {}
    for name, op, kind, nullable in plan:
        try:
            # An unset optional field is None, but a message its type cannot do without (a
            # request's `query`, say) is read as sent: empty, its fields' defaults.
            if name in optional and not message.HasField(name) and (nullable or op != NESTED):
                values[name] = None
            elif op == SCALAR:
                values[name] = getattr(message, name)
            elif op == NESTED:
                values[name] = from_message(kind, getattr(message, name))
            elif op == REPEATED_NESTED:
                values[name] = tuple(from_message(kind, item) for item in getattr(message, name))
            elif op == REPEATED_SCALAR:
                values[name] = tuple(getattr(message, name))
            else:
                values[name] = getattr(message, name).ToDatetime(tzinfo=UTC)
        except MessageMappingError as exc:
            raise exc.within(owner) from None
        except (ValueError, OverflowError) as exc:  # a Timestamp out of datetime's range
            raise MessageMappingError(f"{owner}.{name}", exc) from exc
    return values
