"""What every call carries and records: service token, metrics, errors.

The server side is one interceptor. The client side is `outgoing_metadata` plus `observe`,
applied by `GrpcClient.call` itself: grpcio's client-interceptor machinery wraps every call in
extra Python objects, and the adapter has to stay close to a bare grpcio call. Trace context
is OpenTelemetry's own gRPC instrumentation, put in front of these when tracing is on
(`ecommerce.observability.tracing`).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

import grpc
from django.db import close_old_connections
from prometheus_client import Counter, Histogram

from ecommerce.contracts.errors import DomainError
from ecommerce.transports.grpc import errors

TOKEN_KEY = "x-service-token"
# Probes and tooling reach these without a token; they reveal nothing but liveness and schema.
OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
SERVER_HANDLED = Histogram(
    "grpc_server_handling_seconds",
    "Time to handle a gRPC call, by method and status.",
    ["grpc_service", "grpc_method", "grpc_code"],
    buckets=_BUCKETS,
)
CLIENT_HANDLED = Histogram(
    "grpc_client_handling_seconds",
    "Time a gRPC call took as the caller saw it, by method and status.",
    ["grpc_service", "grpc_method", "grpc_code"],
    buckets=_BUCKETS,
)
# grpcio retries inside the client (ecommerce.transports.grpc.channels) and marks each retry with this
# header, so the server counts the retries that reached it.
PREVIOUS_ATTEMPTS_KEY = "grpc-previous-rpc-attempts"
SERVER_RETRIED = Counter(
    "grpc_server_retried_calls_total",
    "Calls that arrived as a client's retry after UNAVAILABLE, by method.",
    ["grpc_service", "grpc_method"],
)


def split_method(full: str) -> tuple[str, str]:
    service, _, method = full.rpartition("/")
    return service.lstrip("/"), method


def outgoing_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return ((TOKEN_KEY, token),)


_observers: dict[tuple, object] = {}


def observe(histogram: Histogram, service: str, method: str, code: str, seconds: float) -> None:
    """`histogram.labels(...).observe(...)` with the labelled child looked up once per key."""
    key = (histogram, service, method, code)
    child = _observers.get(key)
    if child is None:
        child = _observers.setdefault(key, histogram.labels(service, method, code))
    child.observe(seconds)


class ServerInterceptor(grpc.ServerInterceptor):
    """Refuses calls without the service token; maps domain errors to status and metadata."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()
        # grpcio asks for the handler on every call; wrapping it once per method is enough.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or method.startswith(OPEN_PREFIXES):
            return handler
        wrapped = grpc.unary_unary_rpc_method_handler(
            self._wrap(handler.unary_unary, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        return self._wrapped.setdefault(method, wrapped)

    def _wrap(self, behaviour: Callable, full_method: str) -> Callable:
        service, method = split_method(full_method)
        token = self._token

        def handle(request, context: grpc.ServicerContext):
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            metadata = dict(context.invocation_metadata())
            if PREVIOUS_ATTEMPTS_KEY in metadata:
                SERVER_RETRIED.labels(service, method).inc()
            try:
                offered = metadata.get(TOKEN_KEY, "")
                if not hmac.compare_digest(offered.encode(), token):
                    code = grpc.StatusCode.UNAUTHENTICATED
                    context.abort(code, "A valid service token is required.")
                # Each call is a unit of work, as a request is for Django: a connection
                # broken or past its age is dropped before and after, never reused.
                close_old_connections()
                try:
                    return behaviour(request, context)
                except DomainError as exc:
                    code = errors.status_for(exc)
                    context.set_trailing_metadata(errors.trailing_metadata_for(exc))
                    context.abort(code, exc.message)
                except Exception:
                    if code is grpc.StatusCode.OK:
                        code = grpc.StatusCode.INTERNAL
                    raise
                finally:
                    close_old_connections()
            finally:
                observe(SERVER_HANDLED, service, method, code.name, time.perf_counter() - started)

        return handle
