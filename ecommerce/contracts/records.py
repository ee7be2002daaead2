"""Typed JSON records: the frozen dataclasses that cross a queue or a topic, and reading them back.

A record is written with `to_payload()` (plain JSON types; tuples become lists) and read with
`from_payload(payload)`, which checks every field against its annotation and refuses, with
InvalidRecord naming the field, anything else: a missing key, a bool where an int belongs, an
integer outside JSON's interoperable range (RFC 8259 section 6, so every sum the consumers keep
fits a 64-bit column), text PostgreSQL cannot store (NUL, a lone surrogate), a currency that is
not an ISO 4217 code. Keys the record does not name are ignored, so a producer may add fields
before its consumers know them.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, Self

from ecommerce.contracts.keys import KEY

MAX_INTEGER = 2**53 - 1
_CURRENCY = re.compile(r"^[A-Z]{3}\Z")


class InvalidRecord(ValueError):
    """The payload is not the record it claims to be."""


def non_negative(**kwargs: Any) -> Any:
    """A field that holds an integer >= 0 (an amount in minor units, a quantity)."""
    return dataclasses.field(metadata={"non_negative": True}, **kwargs)


def positive(**kwargs: Any) -> Any:
    """A field that holds an integer >= 1 (an id)."""
    return dataclasses.field(metadata={"positive": True}, **kwargs)


def key(**kwargs: Any) -> Any:
    """A field that holds an operation key (ecommerce/contracts/keys.py's rule)."""
    return dataclasses.field(metadata={"key": True}, **kwargs)


def currency(**kwargs: Any) -> Any:
    """A field that holds an ISO 4217 code (three capital letters)."""
    return dataclasses.field(metadata={"currency": True}, **kwargs)


class Record:
    """Mixin for a frozen dataclass that travels as JSON."""

    def to_payload(self) -> dict[str, Any]:
        """The record as JSON types; an optional field left empty (None, no items) is left out."""
        return {
            f.name: _plain(value)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if not ((value := getattr(self, f.name)) in (None, ()) and not _required(f))
        }

    @classmethod
    def from_payload(cls, payload: Any) -> Self:
        if not isinstance(payload, Mapping):
            raise InvalidRecord(f"{cls.label()} is not an object")
        fields = _fields(cls)
        missing = [f.name for f, _ in fields if f.name not in payload and _required(f)]
        if missing:
            raise InvalidRecord(f"{cls.label()} payload lacks {', '.join(missing)}")
        values = {
            f.name: _read(hint, payload[f.name], f) for f, hint in fields if f.name in payload
        }
        return cls(**values)

    @classmethod
    def label(cls) -> str:
        return cls.__name__


@cache
def _fields(cls: type) -> tuple[tuple[dataclasses.Field, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(cls) if f.init)


def required_fields(cls: type[Record]) -> tuple[str, ...]:
    """The keys every payload of `cls` carries."""
    return tuple(f.name for f, _ in _fields(cls) if _required(f))


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_payload()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _read(hint: Any, value: Any, f: dataclasses.Field) -> Any:
    name = f.name
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [h for h in typing.get_args(hint) if h is not type(None)]
        if value is None:
            return None
        (hint,) = options
        origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise InvalidRecord(f"{name} is not a list")
        item = typing.get_args(hint)[0]
        return tuple(_read(item, v, f) for v in value)
    if isinstance(hint, type) and issubclass(hint, Record):
        try:
            return hint.from_payload(value)
        except InvalidRecord as exc:
            raise InvalidRecord(f"a {name} entry: {exc}") from exc
    if hint is bool:
        if not isinstance(value, bool):
            raise InvalidRecord(f"{name} is not true or false")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_INTEGER:
            raise InvalidRecord(f"{name} is not an integer within ±{MAX_INTEGER}")
        if f.metadata.get("non_negative") and value < 0:
            raise InvalidRecord(f"{name} is negative")
        if f.metadata.get("positive") and value < 1:
            raise InvalidRecord(f"{name} must be a positive integer, got {value!r}")
        return value
    if hint is str:
        if not _is_text(value):
            raise InvalidRecord(f"{name} is not a string of text (UTF-8, no NUL)")
        if f.metadata.get("currency") and not _CURRENCY.match(value):
            raise InvalidRecord(f"{name} is not an ISO 4217 code")
        if f.metadata.get("key") and not KEY.match(value):
            raise InvalidRecord(f"{name} is not 1 to 200 printable ASCII characters")
        return value
    raise TypeError(f"{name}: records hold int, str, bool, records and tuples, not {hint!r}")


def _is_text(value: Any) -> bool:
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True
