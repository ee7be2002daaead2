"""The one list of services: every module that needs "which services are there" reads it here.

Plain data. Each entry says what a service owns (its database alias, its queue, its Kafka
topic), where it listens when it runs as its own process, which ports it calls, and which class
implements its port in-process (named by dotted path so that no app imports another). Its
contract, and the gRPC client built from it, are `ecommerce.contracts.<name>` and
`ecommerce.transports.grpc.contracts.CONTRACTS[<name>]`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    # gRPC and HTTP (/healthz /readyz /metrics) ports of its `serve` process.
    grpc_port: int
    http_port: int
    # The ports it calls: once extracted it reaches them over gRPC.
    calls: tuple[str, ...] = ()
    # Its Celery work queue (commands and saga replies), if it has one; the name matches its
    # contract's commands module (ecommerce/contracts/<name>/commands.py), which the tests check.
    queue: str | None = None

    @property
    def local_adapter(self) -> str:
        """The in-process adapter of its port, by dotted path (no app imports another)."""
        return f"apps.{self.name}.adapters.Local{self.name.capitalize()}Adapter"

    @property
    def alias(self) -> str:
        """Its database alias: a service's models live in, and only in, this one."""
        return self.name

    @property
    def topic(self) -> str:
        """Its Kafka topic, before the deployment's prefix."""
        return self.name


REGISTRY: dict[str, Service] = {
    service.name: service
    for service in (
        Service("product", 50051, 8101),
        Service("cart", 50052, 8102, ("product",), "cart"),
        Service("order", 50053, 8103, ("cart", "product", "payment"), "order"),
        Service("payment", 50054, 8104),
    )
}

# The services a phase can move out of the monolith, in the order the journey takes them apart.
SERVICES: tuple[str, ...] = tuple(REGISTRY)

# The analytics context owns a database of its own too, but is never served over gRPC: it
# reads the event stream.
ANALYTICS = "analytics"
DATABASE_ALIASES: tuple[str, ...] = (*(s.alias for s in REGISTRY.values()), ANALYTICS)

# The ports each service calls (what the phase needs served to an extracted one).
CALLS: dict[str, tuple[str, ...]] = {name: s.calls for name, s in REGISTRY.items()}
GRPC_PORTS: dict[str, int] = {name: s.grpc_port for name, s in REGISTRY.items()}
HTTP_PORTS: dict[str, int] = {name: s.http_port for name, s in REGISTRY.items()}
