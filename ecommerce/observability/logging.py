"""Log lines for people (plain, the default) or for machines (`LOG_FORMAT=json`: one JSON object
a line, through python-json-logger), both carrying the trace and span ids of the current span.

`TraceContextFilter` puts `trace_id` and `span_id` on every record: the current span's, or, for
gunicorn's access line (written after the request's span ended), the ids the request's span
left in the WSGI environ (`ecommerce.observability.tracing._remember_ids`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from ecommerce.observability import tracing

FORMATS = ("plain", "json")
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


class TraceContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "trace_id", None):
            return True
        ids = tracing.current_ids()
        if ids is None and isinstance(record.args, Mapping):
            # gunicorn's access atoms hold the WSGI environ as "{key}e".
            trace_id = record.args.get("{ecommerce.trace_id}e")
            ids = (trace_id, record.args.get("{ecommerce.span_id}e")) if trace_id else None
        record.trace_id, record.span_id = ids or (None, None)
        return True


class JsonFormatter(_JsonFormatter):
    """ts, level, logger, message, trace_id and span_id (when there is a span), and extras."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("fmt", JSON_FIELDS)
        kwargs.setdefault(
            "rename_fields", {"asctime": "ts", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("timestamp", False)
        super().__init__(*args, **kwargs)

    def add_fields(self, log_record, record, message_dict) -> None:
        super().add_fields(log_record, record, message_dict)
        for key in ("trace_id", "span_id"):
            if not log_record.get(key):
                log_record.pop(key, None)


class PlainFormatter(logging.Formatter):
    """The usual line, with `trace_id=` and `span_id=` at its end inside a span."""

    def __init__(self, fmt: str | None = None, *args, **kwargs) -> None:
        super().__init__(fmt or PLAIN, *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        trace_id = getattr(record, "trace_id", None)
        if trace_id:
            line += f" trace_id={trace_id} span_id={getattr(record, 'span_id', '')}"
        return line


def formatter(name: str) -> logging.Formatter:
    return JsonFormatter() if name == "json" else PlainFormatter()


def adopt_handlers(logger: logging.Logger | None) -> None:
    """Give the handlers another library set up (Celery's) the trace filter and, when the
    settings say json, the JSON format; plain leaves their own format."""
    from django.conf import settings

    if logger is None:
        return
    for handler in logger.handlers:
        if not any(isinstance(f, TraceContextFilter) for f in handler.filters):
            handler.addFilter(TraceContextFilter())
        if settings.LOG_FORMAT == "json":
            handler.setFormatter(JsonFormatter())
