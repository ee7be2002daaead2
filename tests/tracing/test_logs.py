"""Log lines: plain by default, JSON by LOG_FORMAT=json, with the trace and span ids."""

from __future__ import annotations

import json
import logging

from opentelemetry import trace

from ecommerce.observability.logging import JsonFormatter, PlainFormatter, TraceContextFilter

IDS = trace.SpanContext(
    int("ab" * 16, 16),
    int("cd" * 8, 16),
    is_remote=True,
    trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
)


def _record(name: str = "shop", message: str = "hello", args=None) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)


def test_a_plain_line_inside_a_span_ends_with_its_ids_and_outside_has_none():
    inside, outside = _record(), _record()
    with trace.use_span(trace.NonRecordingSpan(IDS)):
        TraceContextFilter().filter(inside)
    TraceContextFilter().filter(outside)
    assert (
        PlainFormatter()
        .format(inside)
        .endswith(f"INFO shop: hello trace_id={'ab' * 16} span_id={'cd' * 8}")
    )
    assert PlainFormatter().format(outside).endswith("INFO shop: hello")


def test_gunicorns_access_line_takes_the_ids_the_request_left_in_its_environ():
    # gunicorn logs the access line with its atoms, the WSGI environ among them as "{key}e"
    atoms = {"r": "POST /api/checkout HTTP/1.1", "s": "201"}
    atoms |= {"{ecommerce.trace_id}e": "ef" * 16, "{ecommerce.span_id}e": "01" * 8}
    record = _record("gunicorn.access", '"%(r)s" %(s)s', (atoms,))
    TraceContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == '"POST /api/checkout HTTP/1.1" 201'
    assert (line["trace_id"], line["span_id"], line["logger"]) == (
        "ef" * 16,
        "01" * 8,
        "gunicorn.access",
    )
