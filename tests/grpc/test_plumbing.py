"""The gRPC plumbing every service shares: token, health, reflection, retries, deadlines,
trace context and metrics, over real sockets."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import client_interceptor, server_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY

from apps.product.adapters import LocalProductAdapter
from ecommerce.contracts.errors import ServiceUnavailable
from ecommerce.observability.logging import JsonFormatter, TraceContextFilter
from ecommerce.transports.grpc.contracts import CONTRACTS
from ecommerce.transports.grpc.gen.product.v1 import product_pb2, product_pb2_grpc
from ecommerce.transports.grpc.interceptors import ServerInterceptor
from ecommerce.transports.grpc.server import build_server
from tests.fixtures.grpc_client import ClientInterceptor

pytestmark = pytest.mark.django_db(databases=["default", "product", "cart"], transaction=True)

GrpcCartAdapter = CONTRACTS["cart"].client
GrpcProductAdapter = CONTRACTS["product"].client
product_servicer = CONTRACTS["product"].servicer(LocalProductAdapter)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _product_server(address: str):
    server, port, _ = build_server(
        register=product_servicer.register,
        service_names=(product_servicer.service_name,),
        address=address,
    )
    server.start()
    return server, f"127.0.0.1:{port}"


@pytest.fixture
def product_server():
    server, address = _product_server("127.0.0.1:0")
    yield address
    server.stop(grace=None)


def test_a_call_without_a_valid_token_is_refused(product_server):
    # given
    for interceptors in ([], [ClientInterceptor("not-the-token")]):
        channel = grpc.intercept_channel(grpc.insecure_channel(product_server), *interceptors)
        stub = product_pb2_grpc.ProductServiceStub(channel)
        # when
        with pytest.raises(grpc.RpcError) as raised:
            stub.ListCategories(product_pb2.ListCategoriesRequest(), timeout=2)
        # then
        assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
        channel.close()


def test_health_and_reflection_answer_without_a_token(product_server):
    # given
    channel = grpc.insecure_channel(product_server)
    # when
    health = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=""), timeout=2
    )
    listing = next(
        reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=2
        )
    )
    # then
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    names = {s.name for s in listing.list_services_response.service}
    assert {"product.v1.ProductService", "grpc.health.v1.Health"} <= names
    channel.close()


def test_an_idempotent_call_rides_out_a_service_that_starts_late(settings):
    # given: nothing listens yet on the product service's address
    port = _free_port()
    settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "product": f"127.0.0.1:{port}"}
    settings.GRPC_RETRY_ATTEMPTS = 5
    # grpcio draws each pause at random below its backoff: these make four pauses sure to
    # outlast the 0.3 s before the server starts.
    settings.GRPC_RETRY_BACKOFF_SECONDS = 0.5
    settings.GRPC_RETRY_MAX_BACKOFF_SECONDS = 2.0
    started = []
    starter = threading.Timer(0.3, lambda: started.append(_product_server(f"127.0.0.1:{port}")[0]))
    starter.start()
    try:
        # when
        categories = GrpcProductAdapter().categories()
        # then
        assert categories == []
    finally:
        starter.join()
        for server in started:
            server.stop(grace=None)


def test_a_call_that_is_not_idempotent_fails_fast_when_the_service_is_down(settings):
    # given
    settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "cart": f"127.0.0.1:{_free_port()}"}
    started = time.monotonic()
    # when
    with pytest.raises(ServiceUnavailable) as raised:
        GrpcCartAdapter().add_item(user_id=1, product_id=1, quantity=1)
    # then
    assert time.monotonic() - started < 1
    assert raised.value.details == {"service": "cart", "grpc_status": "UNAVAILABLE"}


def _echo_server(behaviour):
    handler = grpc.method_handlers_generic_handler(
        "test.v1.EchoService",
        {"Echo": grpc.unary_unary_rpc_method_handler(behaviour)},
    )
    server, port, _ = build_server(
        register=lambda s: s.add_generic_rpc_handlers((handler,)),
        service_names=("test.v1.EchoService",),
        address="127.0.0.1:0",
    )
    server.start()
    return server, port


def test_the_trace_id_crosses_the_call_and_a_deadline_ends_a_slow_one(settings):
    # given: OpenTelemetry's own interceptors, on a provider of this test's (not the global one)
    provider = TracerProvider()

    def echo(request: bytes, context) -> bytes:
        if request == b"slow":
            time.sleep(1)
        ids = trace.get_current_span().get_span_context()
        return f"{ids.trace_id:032x}".encode()

    handler = grpc.method_handlers_generic_handler(
        "test.v1.EchoService", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        interceptors=[
            server_interceptor(tracer_provider=provider),
            ServerInterceptor(settings.SERVICE_TOKEN),
        ],
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = intercept_channel(
        grpc.intercept_channel(
            grpc.insecure_channel(f"127.0.0.1:{port}"), ClientInterceptor(settings.SERVICE_TOKEN)
        ),
        client_interceptor(tracer_provider=provider),
    )
    call = channel.unary_unary("/test.v1.EchoService/Echo")
    try:
        with provider.get_tracer("test").start_as_current_span("checkout") as outer:
            # when
            seen = call(b"fast", timeout=2)
            with pytest.raises(grpc.RpcError) as raised:
                call(b"slow", timeout=0.2)
    finally:
        channel.close()
        server.stop(grace=None)
    # then
    assert seen == f"{outer.get_span_context().trace_id:032x}".encode()
    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED


def test_calls_are_counted_by_method_and_status(product_server, settings):
    # given
    settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "product": product_server}
    labels = {"grpc_service": "product.v1.ProductService", "grpc_method": "GetProduct"}

    def count(metric: str, code: str) -> float:
        return REGISTRY.get_sample_value(metric, {**labels, "grpc_code": code}) or 0

    before = count("grpc_server_handling_seconds_count", "NOT_FOUND")
    # when
    with pytest.raises(Exception):  # noqa: B017 - the metric, not the error, is under test
        GrpcProductAdapter().get(10**12)
    # then
    assert count("grpc_server_handling_seconds_count", "NOT_FOUND") == before + 1
    assert count("grpc_client_handling_seconds_count", "NOT_FOUND") >= 1


def test_log_lines_written_inside_a_span_carry_its_trace_and_span_ids():
    # given
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "served", None, None)
    ids = trace.SpanContext(
        int("12" * 16, 16),
        int("34" * 8, 16),
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    # when
    with trace.use_span(trace.NonRecordingSpan(ids)):
        TraceContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    # then
    assert (line["trace_id"], line["span_id"]) == ("12" * 16, "34" * 8)
    assert (line["level"], line["logger"], line["message"]) == ("INFO", "x", "served")


def test_a_log_line_outside_a_span_has_no_trace_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "idle", None, None)
    TraceContextFilter().filter(record)
    assert "trace_id" not in json.loads(JsonFormatter().format(record))


class _FlakyCatalogue(LocalProductAdapter):
    """The catalogue, but its ListCategories fails as a transport would, `failures` times, and
    its GetProduct as the domain does, with a ServiceUnavailable."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.calls = {"categories": 0, "get": 0}

    def categories(self):
        self.calls["categories"] += 1
        if self.calls["categories"] <= self.failures:
            raise _Transport()
        return []

    def get(self, product_id):
        self.calls["get"] += 1
        raise ServiceUnavailable("The payment provider is unreachable.", {"service": "stripe"})


class _Transport(Exception):
    pass


def _flaky_server(port_impl):
    from ecommerce.contracts.product.port import ProductPort
    from ecommerce.contracts.remote import rpcs
    from ecommerce.transports.grpc.binding import PortServicer

    servicer = PortServicer(ProductPort, rpcs(ProductPort), product_pb2, lambda: port_impl)
    handlers = servicer.handlers(port_impl)
    categories = handlers["ListCategories"]

    def list_categories(request, context):
        try:
            return categories.unary_unary(request, context)
        except _Transport:
            context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset")

    handlers["ListCategories"] = grpc.unary_unary_rpc_method_handler(
        list_categories,
        request_deserializer=categories.request_deserializer,
        response_serializer=categories.response_serializer,
    )
    generic = grpc.method_handlers_generic_handler(servicer.service_name, handlers)
    server, port, _ = build_server(
        register=lambda s: s.add_generic_rpc_handlers((generic,)),
        service_names=(servicer.service_name,),
        address="127.0.0.1:0",
    )
    server.start()
    return server, port


def _retried(method: str) -> float:
    value = REGISTRY.get_sample_value(
        "grpc_server_retried_calls_total",
        {"grpc_service": "product.v1.ProductService", "grpc_method": method},
    )
    return value or 0.0


def test_grpcio_retries_a_transient_unavailable_and_the_server_counts_the_retries(settings):
    # given: a catalogue that drops the first two calls
    catalogue = _FlakyCatalogue(failures=2)
    server, port = _flaky_server(catalogue)
    settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "product": f"127.0.0.1:{port}"}
    settings.GRPC_RETRY_BACKOFF_SECONDS = 0.01
    before = _retried("ListCategories")
    try:
        # when
        categories = GrpcProductAdapter().categories()
    finally:
        server.stop(grace=None)
    # then
    assert categories == []
    assert catalogue.calls["categories"] == 3
    assert _retried("ListCategories") - before == 2


def test_a_domain_error_sent_as_unavailable_is_answered_once_never_retried(settings):
    # given
    catalogue = _FlakyCatalogue(failures=0)
    server, port = _flaky_server(catalogue)
    settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "product": f"127.0.0.1:{port}"}
    settings.GRPC_RETRY_BACKOFF_SECONDS = 0.01
    try:
        # when
        with pytest.raises(ServiceUnavailable) as raised:
            GrpcProductAdapter().get(1)
    finally:
        server.stop(grace=None)
    # then
    assert catalogue.calls["get"] == 1
    assert raised.value.details == {"service": "stripe"}


def test_the_retry_policy_names_only_the_idempotent_methods(settings):
    # given
    from ecommerce.transports.grpc.channels import service_config

    settings.GRPC_RETRY_ATTEMPTS = 9
    # when
    config = json.loads(service_config("cart.v1.CartService", GrpcCartAdapter.idempotent))
    # then
    (method_config,) = config["methodConfig"]
    named = {entry["method"] for entry in method_config["name"]}
    assert "AddItem" not in named and "RemoveItem" not in named
    assert {"GetCart", "SetQuantity", "ReserveCart", "CommitReservation"} <= named
    assert method_config["retryPolicy"]["maxAttempts"] == 5
    assert method_config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
