"""Which process runs each app in the current phase, where it listens, and which database it uses."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from phases import SERVICES, Phase


@dataclass(frozen=True, slots=True)
class Placement:
    app: str
    process: str
    grpc: str
    database: str


def placements(phase: Phase) -> list[Placement]:
    exposed = phase.monolith_endpoints()
    rows = []
    for app in SERVICES:
        if phase.is_remote(app):
            process = f"service `manage.py serve {app}`"
            grpc = settings.GRPC_TARGETS[app]
        elif app in exposed:
            process = f"monolith, also `serve {app}` for the services that call it"
            grpc = settings.GRPC_TARGETS[app]
        else:
            process = "monolith (web and worker, in-process adapter)"
            grpc = "-"
        rows.append(Placement(app, process, grpc, settings.DATABASE_PLACES.get(app, "?")))
    rows.append(
        Placement(
            "edge",
            "web: REST API, accounts, admin",
            "-",
            settings.DATABASE_PLACES.get("default", "?"),
        )
    )
    return rows


def render(phase: Phase) -> str:
    rows = placements(phase)
    header = Placement("app", "runs in", "gRPC", "database")
    widths = [max(len(getattr(r, f)) for r in [header, *rows]) for f in Placement.__slots__]
    lines = [f"{phase.describe()} ({settings.ECOMMERCE_MODE} mode)"]
    for row in [header, *rows]:
        cells = [getattr(row, f).ljust(w) for f, w in zip(Placement.__slots__, widths, strict=True)]
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines)


def metrics_endpoints(procfile: str, *, edge_port: int) -> list[tuple[str, int]]:
    """Each process of a Procfile that serves /metrics and /healthz, with its port: the web
    process on the edge's, `serve <app>` on its HTTP port and its worker on `<app>-worker`'s,
    every other process of ours on its METRICS_PORTS entry. Kafka and the local Stripe are
    stand-ins for outside systems and serve none."""
    ports = settings.METRICS_PORTS
    found: list[tuple[str, int]] = []
    for line in procfile.splitlines():
        name, _, command = line.partition(":")
        if not command or line.lstrip().startswith("#"):
            continue
        name, words = name.strip(), command.split()
        if "gunicorn" in words:
            found.append((name, edge_port))
        elif "celery" in words and "worker" in words:
            found.append((name, ports["worker"]))
        elif "serve" in words:
            app = words[words.index("serve") + 1]
            found += [
                (name, settings.SERVICE_HTTP_PORTS[app]),
                (f"{name}-worker", ports[f"{app}-worker"]),
            ]
        elif "relay_outbox" in words:
            found.append((name, ports[f"relay-{words[words.index('relay_outbox') + 1]}"]))
        elif "consume_analytics" in words:
            found.append((name, ports["analytics"]))
        elif "reconcile_payments" in words:
            found.append((name, ports["reconcile-payments"]))
    return found


def render_metrics(endpoints: list[tuple[str, int]], host: str = "127.0.0.1") -> str:
    width = max((len(name) for name, _ in endpoints), default=0)
    lines = ["metrics (each also answers /healthz)"]
    lines += [f"  {name.ljust(width)}  http://{host}:{port}/metrics" for name, port in endpoints]
    return "\n".join(lines)
