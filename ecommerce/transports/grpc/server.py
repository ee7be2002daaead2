"""A gRPC server for one service: its servicer, health, reflection and the interceptor; over
mutual TLS when the GRPC_TLS_* settings name its certificate (ecommerce.transports.grpc.tls)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from django.conf import settings
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ecommerce.observability import tracing
from ecommerce.transports.grpc import tls
from ecommerce.transports.grpc.interceptors import ServerInterceptor


def build_server(
    *,
    register: Callable[[grpc.Server], None],
    service_names: tuple[str, ...],
    address: str,
    max_workers: int = 16,
) -> tuple[grpc.Server, int, Any]:
    """A bound, not yet started server; with its port and the health servicer, whose status
    the caller flips on start and on shutdown."""
    interceptors: list = [ServerInterceptor(settings.SERVICE_TOKEN)]
    if tracing.enabled():
        # Outermost, so the server span covers the token check and the error mapping too.
        interceptors.insert(0, tracing.grpc_server_interceptor())
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=interceptors,
        options=[("grpc.so_reuseport", 0)],
    )
    register(server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    if tls.enabled():
        port = server.add_secure_port(address, tls.server_credentials())
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind the gRPC server to {address}")
    return server, port, health_servicer


def set_serving(health_servicer: Any, service_names: tuple[str, ...], serving: bool) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ("", *service_names):
        health_servicer.set(name, status)
