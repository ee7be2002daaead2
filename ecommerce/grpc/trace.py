"""Trace context across gRPC: a W3C `traceparent` in the metadata, kept in a context variable.

A call made while serving another carries the same trace id, so one checkout is one trace
across the edge and every service it touches.
"""

from __future__ import annotations

import contextvars
import logging
import random

TRACEPARENT = "traceparent"
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)


def current() -> str | None:
    return _current.get()


def trace_id(traceparent: str | None = None) -> str | None:
    value = traceparent or _current.get()
    parts = value.split("-") if value else []
    return parts[1] if len(parts) == 4 else None


def outgoing() -> str:
    """The traceparent for a call made now: this trace's id and a new span, or a new trace."""
    # Identifiers, not secrets: the fast generator is the right one here.
    span = f"{random.getrandbits(64):016x}"
    trace = trace_id() or f"{random.getrandbits(128):032x}"
    return f"00-{trace}-{span}-01"


def enter(traceparent: str | None) -> contextvars.Token:
    return _current.set(traceparent if trace_id(traceparent) else None)


def leave(token: contextvars.Token) -> None:
    _current.reset(token)


class TraceIdFilter(logging.Filter):
    """Puts the current trace id on every log record, for the JSON formatter to print."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "trace_id", None):
            record.trace_id = trace_id()
        return True
