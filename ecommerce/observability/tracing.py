"""OpenTelemetry traces for one process: the SDK, its official instrumentations, OTLP export.

`setup(service)` is called once per process, where the process starts: the web worker
(`ecommerce/wsgi.py`, after gunicorn forked it), every Celery pool process
(`worker_process_init`), `serve`, the relays, the analytics consumer and the reconciler. It reads
the standard variables of the OpenTelemetry specification:

- `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): where spans go.
  Without one nothing is installed: no provider, no instrumentation, no exporter thread; the
  API's no-op tracer is all that runs.
- `OTEL_EXPORTER_OTLP_PROTOCOL` (or `..._TRACES_PROTOCOL`): `grpc` or `http/protobuf` (the
  specification's default).
- `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: nothing is installed either.
- `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`: override the process's own name (`edge`,
  `order`, `relay-order`, ...); `OTEL_TRACES_SAMPLER` / `..._ARG`, `OTEL_BSP_*`,
  `OTEL_EXPORTER_OTLP_HEADERS`, `..._TIMEOUT`, ...: read by the SDK and exporters themselves.

Every span carries the resource attribute `ecommerce.phase`, so a trace shows which phase
served it. Context crosses REST (Django), Celery messages (RabbitMQ), gRPC (the interceptors
that `grpc_client_interceptor` / `grpc_server_interceptor` hand out), HTTP to Stripe
(requests), the outbox row (`trace_context`) and the Kafka message (headers).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

from opentelemetry import context, propagate, trace

logger = logging.getLogger(__name__)

PHASE_ATTRIBUTE = "ecommerce.phase"
TRACER_NAME = "ecommerce"
PROTOCOLS = ("grpc", "http/protobuf")

_lock = threading.Lock()
_provider = None  # the SDK TracerProvider this process installed, if any


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def configured() -> bool:
    """Whether the environment asks this process to export traces."""
    if _env("OTEL_SDK_DISABLED").lower() == "true":
        return False
    if _env("OTEL_TRACES_EXPORTER").lower() == "none":
        return False
    return bool(_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or _env("OTEL_EXPORTER_OTLP_ENDPOINT"))


def enabled() -> bool:
    """Whether this process installed tracing (callers add interceptors only then)."""
    return _provider is not None


def protocol() -> str:
    return (
        _env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or _env("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).lower()


def _exporter():
    chosen = protocol()
    if chosen == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if chosen == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={chosen!r}: one of {', '.join(PROTOCOLS)}")


def _resource(service: str):
    from django.conf import settings
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    attributes: dict[str, Any] = {
        PHASE_ATTRIBUTE: settings.ECOMMERCE_PHASE.name,
        "service.namespace": "ecommerce",
    }
    # The environment's name wins over the process's own (Resource.create merges ours last).
    named = _env("OTEL_SERVICE_NAME") or "service.name=" in _env("OTEL_RESOURCE_ATTRIBUTES")
    if not named:
        attributes[SERVICE_NAME] = service
    return Resource.create(attributes)


def setup(service: str, *, web: bool = False) -> bool:
    """Install tracing for this process once, if the environment asks for it; True if it did.

    `web` adds the Django request instrumentation: call it before the WSGI handler loads its
    middleware. Celery's publishing side is instrumented everywhere, so every command a
    process sends carries its context.
    """
    global _provider
    with _lock:
        if _provider is not None:
            return True
        if not configured():
            return False
        try:
            exporter = _exporter()
        except ValueError as exc:
            logger.error("tracing off: %s", exc)
            return False
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=_resource(service), id_generator=_ids())
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _provider = provider
        _instrument(web=web)
        logger.info("tracing on: %s over OTLP %s", service, protocol())
        return True


def _instrument(*, web: bool) -> None:
    from django.utils.module_loading import autodiscover_modules
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    # The instrumentation ends a publish span only for a task it finds in the registry:
    # import every app's tasks, so commands sent by name are found too.
    autodiscover_modules("tasks")
    CeleryInstrumentor().instrument()
    # A SQL statement, a Redis command and an HTTP call to Stripe end where they start: their
    # spans are leaves, so they may skip the parents the sampler dropped.
    leaves = LeafTracerProvider(trace.get_tracer_provider())
    PsycopgInstrumentor().instrument(enable_commenter=False, tracer_provider=leaves)
    RedisInstrumentor().instrument(tracer_provider=leaves)
    # The stripe SDK talks HTTP through requests (stripe.RequestsClient).
    RequestsInstrumentor().instrument(tracer_provider=leaves)
    if web:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        # Probes and scrapes are no one's trace (unless the standard variable says otherwise).
        excluded = os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS", "healthz,readyz,metrics")
        DjangoInstrumentor().instrument(request_hook=_remember_ids, excluded_urls=excluded)
        _sample_before_the_middleware()


class LeafTracerProvider(trace.TracerProvider):
    """The SDK's provider, for instrumentations whose spans have no children (a statement, a
    Redis command, an HTTP call out): under a parent the sampler dropped, their tracers make
    no span and leave the parent's non-recording one current.

    A parent-based sampler (every `parentbased_*` of `OTEL_TRACES_SAMPLER`, the default among
    them) drops a child of a dropped parent anyway; the SDK still builds it a non-recording span
    (a sampler call, a span id, a span context, a context attached and detached), per statement
    of a request or task that 90 % of the time at 10 % sampling no one records. With any other
    sampler the SDK decides every span, as without this provider.
    """

    def __init__(self, provider) -> None:
        self.provider = provider
        description = provider.sampler.get_description()
        self.skips = (
            description.startswith("ParentBased{")
            and "remoteParentNotSampled:AlwaysOffSampler" in description
            and "localParentNotSampled:AlwaysOffSampler" in description
        )

    def get_tracer(self, *args, **kwargs) -> trace.Tracer:
        tracer = self.provider.get_tracer(*args, **kwargs)
        return _LeafTracer(tracer) if self.skips else tracer


def _dropped(span) -> bool:
    ids = span.get_span_context()
    return ids.is_valid and not ids.trace_flags.sampled


class _LeafTracer(trace.Tracer):
    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer

    def start_span(self, name, context=None, *args, **kwargs):
        parent = trace.get_current_span(context)
        if _dropped(parent):
            return parent
        return self.tracer.start_span(name, context, *args, **kwargs)

    def start_as_current_span(self, name, context=None, *args, **kwargs):
        parent = trace.get_current_span(context)
        if _dropped(parent):
            return nullcontext(parent)
        return self.tracer.start_as_current_span(name, context, *args, **kwargs)


def _ids():
    """The SDK's random ids, and a trace id chosen ahead for the next root span of a request
    (`RequestSampling`), so the sampler sees the same one twice and decides alike."""
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class PresetTraceIds(RandomIdGenerator):
        def generate_trace_id(self) -> int:
            chosen = _next_trace_id.get()
            if chosen:
                _next_trace_id.set(0)
                return chosen
            return super().generate_trace_id()

    return PresetTraceIds()


_next_trace_id: contextvars.ContextVar[int] = contextvars.ContextVar("next_trace_id", default=0)


def _sample_before_the_middleware() -> None:
    """Put `RequestSampling` in the place of the instrumentation's middleware in MIDDLEWARE."""
    from django.conf import settings
    from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware

    installed = f"{_DjangoMiddleware.__module__}.{_DjangoMiddleware.__qualname__}"
    middleware = list(settings.MIDDLEWARE)
    if installed in middleware:  # not when OTEL_PYTHON_DJANGO_INSTRUMENT=false
        middleware[middleware.index(installed)] = f"{__name__}.RequestSampling"
        settings.MIDDLEWARE = middleware


class RequestSampling:
    """The Django instrumentation's request middleware, for the requests a span will record.

    A request that carries no trace context starts a trace: the sampler decides it here, on a
    trace id drawn ahead. One it keeps goes through the instrumentation, whose span gets that
    id (so the sampler decides the same again). One it drops (90 % of them at 10 % sampling)
    runs under the SDK's non-recording span for that id, as inside the instrumentation, so
    its context still reaches the tasks and calls it makes, marked unsampled; what it skips
    is the instrumentation's work on a span no one records (request attributes, the route
    resolved a second time, an absolute URI built three times for the exclusion list,
    duration attributes). A request that continues a trace goes through the instrumentation.
    """

    def __init__(self, get_response):
        from opentelemetry.instrumentation.django.middleware.otel_middleware import (
            _DjangoMiddleware,
        )

        self.get_response = get_response
        self.instrumented = _DjangoMiddleware(get_response)
        provider = trace.get_tracer_provider()
        self.sampler = provider.sampler
        self.ids = provider.id_generator
        flags = trace.TraceFlags.DEFAULT
        if self.ids.is_trace_id_random():
            flags |= trace.TraceFlags.RANDOM_TRACE_ID
        self.unsampled = trace.TraceFlags(flags)
        # The headers the propagator reads (traceparent, tracestate, baggage), as WSGI keys.
        self.carried = tuple(
            "HTTP_" + field.upper().replace("-", "_")
            for field in propagate.get_global_textmap().fields
        )

    def __call__(self, request):
        if any(key in request.META for key in self.carried):
            return self.instrumented(request)
        trace_id = self.ids.generate_trace_id()
        decided = self.sampler.should_sample(None, trace_id, request.method, trace.SpanKind.SERVER)
        if decided.decision.is_recording():
            _next_trace_id.set(trace_id)
            try:
                return self.instrumented(request)
            finally:
                _next_trace_id.set(0)
        # The span the SDK makes for a dropped root (its flags, the sampler's trace state).
        span = trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id,
                self.ids.generate_span_id(),
                is_remote=False,
                trace_flags=self.unsampled,
                trace_state=decided.trace_state,
            )
        )
        _remember_ids(span, request)
        token = context.attach(trace.set_span_in_context(span))
        try:
            return self.get_response(request)
        finally:
            context.detach(token)


def _remember_ids(span, request) -> None:
    """The request's trace and span ids, for gunicorn's access line (logged after the span)."""
    ids = span.get_span_context()
    if ids.is_valid:
        request.META["ecommerce.trace_id"] = trace.format_trace_id(ids.trace_id)
        request.META["ecommerce.span_id"] = trace.format_span_id(ids.span_id)


def flush(timeout_millis: int = 5000) -> None:
    """Export what is buffered now (before a process exits without running atexit)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis)


def grpc_traced_channel(channel):
    """The channel, with OpenTelemetry's client interceptor: a span per call, its context in
    the call's metadata."""
    from opentelemetry.instrumentation.grpc import client_interceptor
    from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

    return intercept_channel(channel, client_interceptor())


def grpc_server_interceptor():
    from opentelemetry.instrumentation.grpc import server_interceptor

    return server_interceptor()


@functools.cache
def tracer() -> trace.Tracer:
    """This process's tracer, looked up once: before `setup` the API's proxy, which hands over
    to the provider `setup` installs."""
    return trace.get_tracer(TRACER_NAME)


def inject(carrier: dict[str, str] | None = None) -> dict[str, str]:
    """The current context as W3C headers (`traceparent`, `tracestate`), or {} without one."""
    carrier = {} if carrier is None else carrier
    propagate.inject(carrier)
    return carrier


def extract(carrier: Mapping[str, str] | None) -> context.Context:
    return propagate.extract(carrier or {})


def link_to(carriers: Iterable[Mapping[str, str] | None]) -> list[trace.Link]:
    """Links to the spans whose context these carriers hold (the valid ones, once each)."""
    links, seen = [], set()
    for carrier in carriers:
        found = trace.get_current_span(extract(carrier)).get_span_context()
        if found.is_valid and (found.trace_id, found.span_id) not in seen:
            seen.add((found.trace_id, found.span_id))
            links.append(trace.Link(found))
    return links


@contextmanager
def span(name: str, *, parent: Mapping[str, str] | None = None, **options) -> Iterator[Any]:
    """A span of this process's tracer, made current; `parent` is a W3C carrier to continue."""
    ctx = extract(parent) if parent is not None else None
    with tracer().start_as_current_span(name, context=ctx, **options) as current:
        yield current


def annotate(attributes: Mapping[str, Any], *, error: str | None = None) -> None:
    """Attributes (and an error status) on the current span, if it records."""
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes(attributes)
        if error is not None:
            current.set_status(trace.Status(trace.StatusCode.ERROR, error))


def untraced():
    """No spans from the instrumentations inside (a poll loop's queries)."""
    if _provider is None:
        return nullcontext()
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    return suppress_instrumentation()


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) of the current span in hex, or None outside a valid one."""
    ids = trace.get_current_span().get_span_context()
    if not ids.is_valid:
        return None
    return trace.format_trace_id(ids.trace_id), trace.format_span_id(ids.span_id)
