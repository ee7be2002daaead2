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
