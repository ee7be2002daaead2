"""Channels to the services, and the call every gRPC adapter makes through them.

A call has a deadline; an idempotent call that meets UNAVAILABLE is retried with exponential
backoff and jitter inside that deadline; any failure comes back as the domain exception the
in-process adapter would have raised, or ServiceUnavailable when the service cannot answer.
"""

from __future__ import annotations

import random
import threading
import time
from importlib import import_module
from typing import Any

import grpc
from django.conf import settings

from ecommerce import tracing
from ecommerce.grpc import errors
from ecommerce.grpc.interceptors import (
    CLIENT_HANDLED,
    CLIENT_RETRIES,
    observe,
    outgoing_metadata,
)

CHANNEL_OPTIONS = (
    # Reconnect quickly once a service is back, instead of grpc's default of up to two minutes.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
    ("grpc.keepalive_time_ms", 30_000),
    # Our own retry policy is the only one, so an attempt count means what it says.
    ("grpc.enable_retries", 0),
)

_lock = threading.Lock()
_channels: dict[str, grpc.Channel] = {}


def target_for(service: str) -> str:
    return settings.GRPC_TARGETS[service]


def channel_for(service: str) -> grpc.Channel:
    """One shared channel per target: gRPC multiplexes every call over it."""
    target = target_for(service)
    channel = _channels.get(target)
    if channel is None:
        with _lock:
            channel = _channels.get(target)
            if channel is None:
                channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
                if tracing.enabled():
                    channel = tracing.grpc_traced_channel(channel)
                _channels[target] = channel
    return channel


def close_channels() -> None:
    with _lock:
        for channel in _channels.values():
            channel.close()
        _channels.clear()


class GrpcClient:
    """What a gRPC adapter builds on: a stub for its service and a `call` with the policy."""

    service = ""
    stub_class: type = object

    def __init__(self) -> None:
        self._stub = self.stub_class(channel_for(self.service))
        # The full service name the server's metrics use too, e.g. "product.v1.ProductService".
        messages = import_module(self.stub_class.__module__.removesuffix("_grpc"))
        (described,) = messages.DESCRIPTOR.services_by_name.values()
        self._service_name = described.full_name
        self._token = settings.SERVICE_TOKEN
        self._deadline = settings.GRPC_DEADLINE_SECONDS
        self._attempts = settings.GRPC_RETRY_ATTEMPTS
        self._backoff = settings.GRPC_RETRY_BACKOFF_SECONDS

    def call(
        self, method: str, request: Any, *, idempotent: bool, timeout: float | None = None
    ) -> Any:
        rpc = getattr(self._stub, method)
        service = self._service_name
        deadline = time.monotonic() + (timeout if timeout is not None else self._deadline)
        attempts = self._attempts if idempotent else 1
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                response = rpc(
                    request,
                    timeout=max(deadline - time.monotonic(), 0.001),
                    metadata=outgoing_metadata(self._token),
                )
            except grpc.RpcError as exc:
                status = exc.code()
                observe(CLIENT_HANDLED, service, method, status.name, time.perf_counter() - started)
                retry = (
                    attempt < attempts
                    and status is grpc.StatusCode.UNAVAILABLE
                    and errors.domain_code(exc) is None
                )
                pause = self._backoff * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
                if not retry or time.monotonic() + pause >= deadline:
                    raise errors.domain_error(exc, service=self.service) from None
                CLIENT_RETRIES.labels(service, method).inc()
                time.sleep(pause)
            else:
                observe(CLIENT_HANDLED, service, method, "OK", time.perf_counter() - started)
                return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        """Channels are shared per target and outlive one adapter."""
