"""Hands callers the adapter the phase names for each port: in-process or gRPC.

The in-process adapter is named by dotted path (phases/services.py) so that no app imports
another, not even indirectly; the gRPC one is built from the service's contract alone
(ecommerce.transports.grpc.contracts), so calling a remote service loads none of its code. Every
port call through an adapter handed out here is timed in `port_call_duration_seconds`, by
service, method and transport (`inprocess` or `grpc`): the cost of each hop, before and after
its service is extracted.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from functools import cache, wraps
from importlib import import_module
from time import perf_counter
from typing import TYPE_CHECKING, Any

from django.conf import settings
from prometheus_client import Histogram

from ecommerce.transports.grpc.contracts import CONTRACTS
from ecommerce.wiring import cutover, shadow
from phases import Phase
from phases.services import REGISTRY

if TYPE_CHECKING:
    from ecommerce.contracts.cart.port import CartPort
    from ecommerce.contracts.order.port import OrderPort
    from ecommerce.contracts.payment.port import PaymentPort
    from ecommerce.contracts.product.port import ProductPort


_lock = threading.RLock()
_instances: dict[tuple[str, str], Any] = {}

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


def _build(app: str, remote: bool) -> Any:
    return timed_adapter(app, remote)()


def _adapter(key: tuple[str, str], make: Any) -> Any:
    adapter = _instances.get(key)
    if adapter is None:
        with _lock:
            adapter = _instances.get(key)
            if adapter is None:
                adapter = make()
                _instances[key] = adapter
    return adapter


def port(app: str, *, remote: bool | None = None) -> Any:
    """The adapter for `app`; `remote` forces one side (the contract tests use both).

    In the monolith (a process that serves nothing itself), an app the phase keeps in-process
    may be shadowed (`SHADOW`: its reads compared with its gRPC service, ecommerce/wiring/shadow.py)
    and under cut-over (`CUTOVER`: a share of its calls sent to that service, per user,
    ecommerce/wiring/cutover.py).
    """
    if remote is not None:
        return _adapter((app, "remote" if remote else "local"), lambda: _build(app, remote))
    served = serving_locally()
    if served:
        # A service process owns only what it serves: every other app is across the wire,
        # the monolith's included, since it holds no connection to their databases.
        return port(app, remote=app not in served)
    if current_phase().is_remote(app):
        return port(app, remote=True)
    if cutover.under_cutover(app):
        return _adapter(
            (app, "cutover"),
            lambda: cutover.CutoverRouter(app, _in_process(app), lambda: port(app, remote=True)),
        )
    return _in_process(app)


def _in_process(app: str) -> Any:
    """The in-process side of an app the phase keeps: shadowed when `SHADOW` names it."""
    if shadow.shadowed(app):
        return _adapter(
            (app, "shadow"),
            lambda: shadow.ShadowAdapter(
                app, port(app, remote=False), lambda: port(app, remote=True)
            ),
        )
    return port(app, remote=False)


def reset() -> None:
    """Forget built adapters (after the phase setting changes, in tests)."""
    shadow.reset()
    cutover.shares.forget()
    with _lock:
        for adapter in _instances.values():
            close = getattr(adapter, "close", None)
            if close:
                close()
        _instances.clear()


def routed_as(*, user_id: int) -> AbstractContextManager[None]:
    """The port calls made inside are routed as this user's (cut-over sticks to the user)."""
    return cutover.sticky(cutover.user_key(user_id))


def product() -> ProductPort:
    return port("product")


def cart() -> CartPort:
    return port("cart")


def order() -> OrderPort:
    return port("order")


def payment() -> PaymentPort:
    return port("payment")
