"""How a port's operations travel when its service is remote: one entry per Protocol method.

This is the part of a contract that the Protocol's signature cannot say: the RPC's name in the
service's `.proto`, whether a call may be repeated after the service was unreachable (a retry is
safe only when doing the operation twice does what doing it once does), and whether it waits on
a third party (Stripe), which earns it the provider's time budget on top of ours. The request
and response messages follow from the signature (ecommerce/transports/grpc/binding.py maps them by name).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rpc:
    name: str
    idempotent: bool = True
    calls_provider: bool = False
