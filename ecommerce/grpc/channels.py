"""Channels to the services, and the call every gRPC adapter makes through them.

A call has a deadline; an idempotent call that meets UNAVAILABLE is retried with exponential
backoff and jitter inside that deadline; any failure comes back as the domain exception the
in-process adapter would have raised, or ServiceUnavailable when the service cannot answer.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import grpc
from django.conf import settings

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
                _channels[target] = channel
    return channel


def close_channels() -> None:
    with _lock:
        for channel in _channels.values():
            channel.close()
        _channels.clear()


class GrpcClient:
    """What a gRPC adapter builds on: its service's RPCs over the shared channel, and a `call`
    with the policy. `ecommerce.grpc.binding` makes one of these for each port."""

    service = ""
    # The service as its `.proto` declares it, and the generated `*_pb2` module of its messages.
    service_descriptor: Any = None
    messages: Any = None

    def __init__(self) -> None:
        channel = channel_for(self.service)
        # The full service name the server's metrics use too, e.g. "product.v1.ProductService".
        self._service_name = self.service_descriptor.full_name
        self._rpcs = {
            method.name: channel.unary_unary(
                f"/{self._service_name}/{method.name}",
                request_serializer=getattr(self.messages, method.input_type.name).SerializeToString,
                response_deserializer=getattr(self.messages, method.output_type.name).FromString,
            )
            for method in self.service_descriptor.methods
        }
        self._token = settings.SERVICE_TOKEN
        self._deadline = settings.GRPC_DEADLINE_SECONDS
        self._attempts = settings.GRPC_RETRY_ATTEMPTS
        self._backoff = settings.GRPC_RETRY_BACKOFF_SECONDS
        # A call that waits on a third party (Stripe) has the provider's budget on top of ours.
        self.provider_deadline = self._deadline + settings.GRPC_PROVIDER_DEADLINE_SECONDS

    def call(
        self, method: str, request: Any, *, idempotent: bool, timeout: float | None = None
    ) -> Any:
        rpc = self._rpcs[method]
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
