"""Hands callers the adapter the phase names for each port: in-process or gRPC.

Adapters are named by dotted path so that no app imports another, not even indirectly.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.conf import settings

from ecommerce import cutover, shadow
from phases import Phase
from phases.services import REGISTRY

if TYPE_CHECKING:
    from ecommerce.ports.cart import CartPort
    from ecommerce.ports.order import OrderPort
    from ecommerce.ports.payment import PaymentPort
    from ecommerce.ports.product import ProductPort

ADAPTERS = {name: (s.local_adapter, s.grpc_adapter) for name, s in REGISTRY.items()}

_lock = threading.RLock()
_instances: dict[tuple[str, str], Any] = {}


def current_phase() -> Phase:
    return settings.ECOMMERCE_PHASE


def serving_locally() -> frozenset[str]:
    """Apps this process owns even when the phase makes them remote (set by `serve <app>`)."""
    return frozenset(getattr(settings, "ECOMMERCE_SERVES", ()))


@cache
def _load(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def _build(app: str, remote: bool) -> Any:
    return _load(ADAPTERS[app][1 if remote else 0])()


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
    may be shadowed (`SHADOW`: its reads compared with its gRPC service, ecommerce/shadow.py)
    and under cut-over (`CUTOVER`: a share of its calls sent to that service, per user,
    ecommerce/cutover.py).
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
