"""Hands callers the adapter the phase names for each port: in-process or gRPC.

The in-process adapter is named by dotted path (phases/services.py) so that no app imports
another, not even indirectly; the gRPC one is built from the service's contract alone
(ecommerce.grpc.contracts), so calling a remote service loads none of its code. Every
port call through an adapter handed out here is timed in `port_call_duration_seconds`, by
service, method and transport (`inprocess` or `grpc`): the cost of each hop, before and after
its service is extracted.
"""

from __future__ import annotations

import threading
from functools import cache, wraps
from importlib import import_module
from time import perf_counter
from typing import TYPE_CHECKING, Any

from django.conf import settings
from prometheus_client import Histogram

from ecommerce.grpc.contracts import CONTRACTS
from phases import Phase
from phases.services import REGISTRY

if TYPE_CHECKING:
    from ecommerce.contracts.cart.port import CartPort
    from ecommerce.contracts.order.port import OrderPort
    from ecommerce.contracts.payment.port import PaymentPort
    from ecommerce.contracts.product.port import ProductPort


_lock = threading.Lock()
_instances: dict[tuple[str, bool], Any] = {}

IN_PROCESS = "inprocess"
GRPC = "grpc"
# An in-process call can take tens of microseconds, a gRPC one a millisecond or more.
_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)
PORT_CALL_DURATION = Histogram(
    "port_call_duration_seconds",
    "Time a port call took as its caller saw it, by service, method and transport.",
    ["service", "method", "transport"],
    buckets=_BUCKETS,
)


def current_phase() -> Phase:
    return settings.ECOMMERCE_PHASE


def serving_locally() -> frozenset[str]:
    """Apps this process owns even when the phase makes them remote (set by `serve <app>`)."""
    return frozenset(getattr(settings, "ECOMMERCE_SERVES", ()))


@cache
def local_adapter(app: str) -> type:
    """The class that implements `app`'s port in-process (what its `serve` process serves)."""
    module, _, name = REGISTRY[app].local_adapter.rpartition(".")
    return getattr(import_module(module), name)


def remote_adapter(app: str) -> type:
    """The class that implements `app`'s port over gRPC, from its contract."""
    return CONTRACTS[app].client


def _timed_method(method: Any, observe: Any) -> Any:
    @wraps(method)
    def timed(self, *args, **kwargs):
        started = perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            observe(perf_counter() - started)

    return timed


@cache
def timed_adapter(app: str, remote: bool) -> type:
    """The adapter class for `app`, its port methods timed: a subclass, so callers and
    `isinstance` see the adapter itself. The port's methods are those its contract binds."""
    adapter = remote_adapter(app) if remote else local_adapter(app)
    transport = GRPC if remote else IN_PROCESS
    namespace: dict[str, Any] = {"__module__": adapter.__module__, "__doc__": adapter.__doc__}
    for method in CONTRACTS[app].client.bindings:
        child = PORT_CALL_DURATION.labels(app, method, transport)
        namespace[method] = _timed_method(getattr(adapter, method), child.observe)
    return type(adapter.__name__, (adapter,), namespace)


def port(app: str, *, remote: bool | None = None) -> Any:
    """The adapter for `app`; `remote` forces one side (the contract tests use both)."""
    if remote is None:
        served = serving_locally()
        # A service process owns only what it serves: every other app is across the wire,
        # the monolith's included, since it holds no connection to their databases.
        remote = app not in served if served else current_phase().is_remote(app)
    key = (app, remote)
    adapter = _instances.get(key)
    if adapter is None:
        with _lock:
            adapter = _instances.get(key)
            if adapter is None:
                adapter = timed_adapter(app, remote)()
                _instances[key] = adapter
    return adapter


def reset() -> None:
    """Forget built adapters (after the phase setting changes, in tests)."""
    with _lock:
        for adapter in _instances.values():
            close = getattr(adapter, "close", None)
            if close:
                close()
        _instances.clear()


def product() -> ProductPort:
    return port("product")


def cart() -> CartPort:
    return port("cart")


def order() -> OrderPort:
    return port("order")


def payment() -> PaymentPort:
    return port("payment")
