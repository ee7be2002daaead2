"""How a port's operations travel when its service is remote: each Protocol method says it.

This is the part of a contract that the Protocol's signature cannot say: the RPC's name in the
service's `.proto`, whether a call may be repeated after the service was unreachable (a retry is
safe only when doing the operation twice does what doing it once does), and whether it waits on
a third party (Stripe), which earns it the provider's time budget on top of ours. The request
and response messages follow from the signature (ecommerce/transports/grpc/binding.py maps them by name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True, slots=True)
class Rpc:
    name: str
    idempotent: bool = True
    calls_provider: bool = False


def rpc(name: str, *, idempotent: bool = True, calls_provider: bool = False) -> Callable[[F], F]:
    """Marks a Protocol method with the RPC it travels as: `@rpc("GetProduct")` above `def get`."""

    def mark(method: F) -> F:
        method.__rpc__ = Rpc(name, idempotent, calls_provider)  # type: ignore[attr-defined]
        return method

    return mark


def rpcs(protocol: type) -> dict[str, Rpc]:
    """A port's RPC table, read from its methods' `@rpc` marks (a method left unmarked is absent,
    which binding the port to its `.proto` refuses)."""
    marked = {name: getattr(getattr(protocol, name), "__rpc__", None) for name in dir(protocol)}
    return {name: mark for name, mark in marked.items() if isinstance(mark, Rpc)}
