"""Channels to the services, and the call every gRPC adapter makes through them.

A call has a deadline; an idempotent call that meets UNAVAILABLE is retried by grpcio itself,
as the channel's service config (`retryPolicy`, gRFC A6) says: exponential backoff with jitter,
inside that deadline, for the methods the port's RPC table marks idempotent and no other. A
domain error that travels as UNAVAILABLE (Stripe is down, say) carries a negative retry pushback
(ecommerce.transports.grpc.errors), so it is answered once, never repeated. Any failure comes back as the
domain exception the in-process adapter would have raised, or ServiceUnavailable when the
service cannot answer. With the GRPC_TLS_* settings, every channel is mutual TLS
(ecommerce.transports.grpc.tls).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from typing import Any

import grpc
from django.conf import settings

from ecommerce.observability import tracing
from ecommerce.transports.grpc import errors, tls
from ecommerce.transports.grpc.interceptors import CLIENT_HANDLED, observe, outgoing_metadata

CHANNEL_OPTIONS = (
    # Reconnect quickly once a service is back, instead of grpc's default of up to two minutes.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.enable_retries", 1),
)
# grpcio caps a retry policy's maxAttempts at 5, whatever the config asks.
MAX_ATTEMPTS = 5

_lock = threading.Lock()
_channels: dict[tuple[str, str], grpc.Channel] = {}


def target_for(service: str) -> str:
    return settings.GRPC_TARGETS[service]


def service_config(service_name: str, retried: Iterable[str]) -> str:
    """The channel's service config: a retry policy for the `retried` methods of the service
    `service_name` (e.g. "product.v1.ProductService"), from the GRPC_RETRY_* settings."""
    methods = [{"service": service_name, "method": method} for method in sorted(retried)]
    if not methods or settings.GRPC_RETRY_ATTEMPTS < 2:
        return json.dumps({"methodConfig": []})
    backoff = settings.GRPC_RETRY_BACKOFF_SECONDS
    policy = {
        "maxAttempts": min(settings.GRPC_RETRY_ATTEMPTS, MAX_ATTEMPTS),
        "initialBackoff": f"{backoff:.3f}s",
        "maxBackoff": f"{max(backoff, settings.GRPC_RETRY_MAX_BACKOFF_SECONDS):.3f}s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    return json.dumps({"methodConfig": [{"name": methods, "retryPolicy": policy}]})


def channel_for(service: str, config: str = "") -> grpc.Channel:
    """One shared channel per target and service config: gRPC multiplexes every call over it."""
    key = (target_for(service), config)
    channel = _channels.get(key)
    if channel is None:
        with _lock:
            channel = _channels.get(key)
            if channel is None:
                options = CHANNEL_OPTIONS
                if config:
                    options = (*options, ("grpc.service_config", config))
                if tls.enabled():
                    credentials = tls.channel_credentials()
                    channel = grpc.secure_channel(key[0], credentials, options=options)
                else:
                    channel = grpc.insecure_channel(key[0], options=options)
                if tracing.enabled():
                    channel = tracing.grpc_traced_channel(channel)
                _channels[key] = channel
    return channel


def close_channels() -> None:
    with _lock:
        for channel in _channels.values():
            channel.close()
        _channels.clear()


class GrpcClient:
    """What a gRPC adapter builds on: its service's RPCs over the shared channel, and a `call`
    with the policy. `ecommerce.transports.grpc.binding` makes one of these for each port."""

    service = ""
    # The service as its `.proto` declares it, and the generated `*_pb2` module of its messages.
    service_descriptor: Any = None
    messages: Any = None
    # The RPCs a retry is safe for (the port's RPC table says which).
    idempotent: frozenset[str] = frozenset()

    def __init__(self) -> None:
        # The full service name the server's metrics use too, e.g. "product.v1.ProductService".
        self._service_name = self.service_descriptor.full_name
        channel = channel_for(self.service, service_config(self._service_name, self.idempotent))
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
        # A call that waits on a third party (Stripe) has the provider's budget on top of ours.
        self.provider_deadline = self._deadline + settings.GRPC_PROVIDER_DEADLINE_SECONDS

    def call(self, method: str, request: Any, *, timeout: float | None = None) -> Any:
        """One call of `method`; grpcio retries it where the service config allows."""
        rpc = self._rpcs[method]
        service = self._service_name
        started = time.perf_counter()
        try:
            response = rpc(
                request,
                timeout=timeout if timeout is not None else self._deadline,
                metadata=outgoing_metadata(self._token),
            )
        except grpc.RpcError as exc:
            observe(CLIENT_HANDLED, service, method, exc.code().name, time.perf_counter() - started)
            raise errors.domain_error(exc, service=self.service) from None
        observe(CLIENT_HANDLED, service, method, "OK", time.perf_counter() - started)
        return response

    def close(self) -> None:
        """Channels are shared per target and outlive one adapter."""
