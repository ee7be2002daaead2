"""The instrumentations of leaf operations (psycopg, Redis, requests) make no span under a
parent the sampler dropped, when the sampler is parent-based (`tracing.LeafTracerProvider`):
the SDK is not asked for one at all. Under a recorded parent their spans are recorded, its
children; with a sampler that is not parent-based the SDK decides each one as before. A
process of its own, its statements against the tests' PostgreSQL and Redis, its spans
exported to the tests' OTLP receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.fixtures.worker import ROOT

PROBE = """
import json, os, django
django.setup()
import psycopg, redis
from opentelemetry import trace
from opentelemetry.sdk.trace import Tracer
from ecommerce.observability import tracing
assert tracing.setup("leaf-probe")

asked = []
start_span = Tracer.start_span
def counted(self, name, *args, **kwargs):
    asked.append(name)
    return start_span(self, name, *args, **kwargs)
Tracer.start_span = counted

def work():
    with psycopg.connect(os.environ["PROBE_DATABASE"]) as database:
        database.execute("SELECT 1").fetchone()
    redis.Redis.from_url(os.environ["PROBE_REDIS"]).ping()

dropped = trace.NonRecordingSpan(trace.SpanContext(
    int("ab" * 16, 16), int("cd" * 8, 16), is_remote=True, trace_flags=trace.TraceFlags(0)))
with trace.use_span(dropped):
    work()
under_dropped = list(asked)
del asked[:]
with tracing.span("recorded parent") as parent:
    work()
    ids = parent.get_span_context()
tracing.flush()
print(json.dumps({
    "under_dropped": under_dropped,
    "under_recorded": asked,
    "parent": [trace.format_trace_id(ids.trace_id), trace.format_span_id(ids.span_id)],
}))
"""


def probe(otlp_receiver, sampler: str) -> dict:
    settings = connection.settings_dict
    database = (
        f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} "
        f"user={settings['USER']} dbname={settings['NAME']}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {"DJANGO_SETTINGS_MODULE": "settings.test", "PROBE_DATABASE": database}
    env |= {"PROBE_REDIS": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")}
    env |= otlp_receiver.env(OTEL_TRACES_SAMPLER=sampler)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_leaf_spans_skip_a_dropped_parent_and_stay_under_a_recorded_one(otlp_receiver):
    if connection.vendor != "postgresql":
        pytest.skip("the psycopg instrumentation traces PostgreSQL")
    seen = probe(otlp_receiver, "parentbased_always_on")
    # Without the leaf provider the SDK is asked for a statement's and a command's span.
    assert seen["under_dropped"] == []
    assert "recorded parent" in seen["under_recorded"]
    trace_id, parent_id = seen["parent"]
    spans = otlp_receiver.wait_for(
        lambda spans: {"SELECT", "PING"} <= {s.name for s in spans if s.trace_id == trace_id}
    )
    leaves = [s for s in spans if s.trace_id == trace_id and s.name in ("SELECT", "PING")]
    assert {(s.name, s.kind, s.parent_id) for s in leaves} == {
        ("SELECT", "CLIENT", parent_id),
        ("PING", "CLIENT", parent_id),
    }
    # Nothing of the dropped trace was exported.
    assert not [s for s in otlp_receiver.spans() if s.trace_id == "ab" * 16]


@pytest.mark.django_db
def test_a_sampler_that_is_not_parent_based_still_decides_every_leaf(otlp_receiver):
    if connection.vendor != "postgresql":
        pytest.skip("the psycopg instrumentation traces PostgreSQL")
    seen = probe(otlp_receiver, "always_on")
    # always_on records a child of a dropped parent: the SDK must be asked.
    assert set(seen["under_dropped"]) >= {"SELECT", "PING"}
    recorded = otlp_receiver.wait_for(
        lambda spans: {"SELECT", "PING"} <= {s.name for s in spans if s.trace_id == "ab" * 16}
    )
    assert {s.parent_id for s in recorded if s.trace_id == "ab" * 16} == {"cd" * 8}
