"""Requests are sampled once, before the Django instrumentation (`tracing.RequestSampling`):
only the requests a span records go through its middleware, the ratio the standard variables
ask for is the ratio of traced requests, and a request that continues a trace is traced as its
child. A web process in a fresh process, its requests
through Django's WSGI handler, its spans exported to the tests' OTLP receiver."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.fixtures.worker import ROOT

REQUESTS = 400
PARENT = ("ab" * 16, "cd" * 8)

PROBE = f"""
import io, django
django.setup()
from ecommerce.observability import tracing
assert tracing.setup("sampling-probe", web=True)
from django.core.handlers.wsgi import WSGIHandler
from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware

entered = []
process_request = _DjangoMiddleware.process_request
def counted(self, request):
    entered.append(request.path)
    return process_request(self, request)
_DjangoMiddleware.process_request = counted
handler = WSGIHandler()

def call(**headers):
    environ = {{
        "REQUEST_METHOD": "GET", "PATH_INFO": "/api/no-such-page", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http",
        **headers,
    }}
    statuses = []
    body = handler(environ, lambda status, headers: statuses.append(status))
    b"".join(body)
    body.close()
    assert statuses[0].startswith("404"), statuses

for _ in range({REQUESTS}):
    call()
call(HTTP_TRACEPARENT="00-{PARENT[0]}-{PARENT[1]}-01")
tracing.flush()
print(len(entered))
"""


def test_requests_are_traced_at_the_sampled_ratio_and_continued_traces_always(otlp_receiver):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {"DJANGO_SETTINGS_MODULE": "settings.test"}
    env |= otlp_receiver.env(
        OTEL_TRACES_SAMPLER="parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG="0.5"
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    spans = [
        s for s in otlp_receiver.spans() if s.service == "sampling-probe" and s.kind == "SERVER"
    ]
    roots = [s for s in spans if not s.parent_id]
    # Half of 400 (a standard deviation of 10); deciding twice would trace a quarter of them.
    assert 150 <= len(roots) <= 250, len(roots)
    assert len({s.trace_id for s in roots}) == len(roots)
    continued = [s for s in spans if s.parent_id]
    assert [(s.trace_id, s.parent_id) for s in continued] == [PARENT]
    # The instrumentation's middleware saw the requests it traced, and no other.
    assert int(done.stdout.strip().splitlines()[-1]) == len(spans)
