"""The current phase as a graph of processes, apps, calls, databases, queues and topics, and
that graph drawn as SVG. Everything is read from the phase definitions (phases/) and the
settings the processes run on, never from a picture kept by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from django.conf import settings

from ecommerce.observability.metrics import metrics_host
from phases import Phase
from phases.services import REGISTRY, SERVICES

EDGE = "edge"
MONOLITH = "monolith"


@dataclass(slots=True)
class App:
    name: str
    process: str
    database: str
    place: str
    queue: str | None = None
    topic: str | None = None


@dataclass(slots=True)
class Process:
    name: str
    command: str
    apps: list[str] = field(default_factory=list)
    grpc: str | None = None
    health_url: str | None = None
    metrics_url: str | None = None
    # Apps of the monolith it also serves over gRPC to the services that call them.
    serves: list[str] = field(default_factory=list)
    # Its Celery worker's /metrics (the worker drives the sagas of the order app it runs).
    worker_metrics_url: str | None = None

    @property
    def worker_name(self) -> str:
        """The worker's name in METRICS_PORTS: `worker` for the monolith's, `<app>-worker`."""
        return "worker" if self.name == MONOLITH else f"{self.name}-worker"


@dataclass(frozen=True, slots=True)
class Call:
    caller: str
    callee: str
    kind: str  # "in-process" or "gRPC"
    target: str | None = None


@dataclass(slots=True)
class Topology:
    phase: str
    description: str
    processes: list[Process]
    apps: dict[str, App]
    calls: list[Call]

    def as_json(self) -> dict:
        return {
            "phase": self.phase,
            "description": self.description,
            "processes": [
                {
                    "name": p.name,
                    "command": p.command,
                    "apps": p.apps,
                    "grpc": p.grpc,
                    "serves": p.serves,
                    "health_url": p.health_url,
                    "metrics_url": p.metrics_url,
                    "worker_metrics_url": p.worker_metrics_url,
                }
                for p in self.processes
            ],
            "apps": {
                name: {
                    "process": a.process,
                    "database": a.database,
                    "place": a.place,
                    "queue": a.queue,
                    "topic": a.topic,
                }
                for name, a in self.apps.items()
            },
            "calls": [
                {"caller": c.caller, "callee": c.callee, "kind": c.kind, "target": c.target}
                for c in self.calls
            ],
        }


def _host(app: str) -> str:
    host = settings.GRPC_TARGETS[app].rsplit(":", 1)[0]
    return host or "127.0.0.1"


def _worker_metrics(app: str | None) -> str:
    if app is None:
        return f"http://{metrics_host()}:{settings.METRICS_PORTS['worker']}/metrics"
    return f"http://{_host(app)}:{settings.METRICS_PORTS[f'{app}-worker']}/metrics"


def build(phase: Phase) -> Topology:
    """Who runs where in `phase`: the monolith (the edge and every app not extracted), one
    `serve` process per extracted app, and the calls between them."""
    prefix = settings.KAFKA_TOPIC_PREFIX
    places = settings.DATABASE_PLACES
    monolith = Process(
        MONOLITH,
        "web (gunicorn) + celery worker",
        [EDGE],
        health_url="/readyz",
        metrics_url="/metrics",
        worker_metrics_url=_worker_metrics(None),
    )
    processes = [monolith]
    apps = {EDGE: App(EDGE, MONOLITH, "default", places.get("default", "?"))}
    exposed = phase.monolith_endpoints()
    for name in SERVICES:
        service = REGISTRY[name]
        process = name if phase.is_remote(name) else MONOLITH
        apps[name] = App(
            name,
            process,
            service.alias,
            places.get(service.alias, "?"),
            service.queue,
            prefix + service.topic,
        )
        if process == MONOLITH:
            monolith.apps.append(name)
            if name in exposed:
                monolith.serves.append(name)
            continue
        base = f"http://{_host(name)}:{settings.SERVICE_HTTP_PORTS[name]}"
        processes.append(
            Process(
                name,
                f"manage.py serve {name}",
                [name],
                grpc=settings.GRPC_TARGETS[name],
                health_url=f"{base}/readyz",
                metrics_url=f"{base}/metrics",
                worker_metrics_url=_worker_metrics(name),
            )
        )
    for name in exposed:
        # The monolith answers the extracted services' calls in a `serve <app>` process of its own.
        base = f"http://{_host(name)}:{settings.SERVICE_HTTP_PORTS[name]}"
        processes.append(
            Process(
                f"monolith-{name}",
                f"manage.py serve {name} (monolith code and database)",
                [],
                grpc=settings.GRPC_TARGETS[name],
                health_url=f"{base}/readyz",
                metrics_url=f"{base}/metrics",
                serves=[name],
                worker_metrics_url=_worker_metrics(name),
            )
        )
    calls = []
    pairs = [(EDGE, name) for name in SERVICES] + [
        (name, callee) for name in SERVICES for callee in REGISTRY[name].calls
    ]
    for caller, callee in pairs:
        remote = apps[caller].process != apps[callee].process
        calls.append(
            Call(
                caller,
                callee,
                "gRPC" if remote else "in-process",
                settings.GRPC_TARGETS[callee] if remote else None,
            )
        )
    return Topology(phase.name, phase.describe(), processes, apps, calls)


# -- drawing ---------------------------------------------------------------------------------

APP_W, APP_H, GAP = 300, 96, 26
PAD, HEAD = 18, 56
LEFT_X, RIGHT_X = 40, 560
WIDTH = 960


def _app_box(app: App, x: int, y: int) -> str:
    lines = [f"db {app.database}"]
    if app.queue:
        lines.append(f"queue {app.queue}")
    if app.topic:
        lines.append(f"topic {app.topic}")
    label = "edge: API, accounts, admin" if app.name == EDGE else app.name
    parts = [
        f'<g class="app" id="app-{app.name}" data-app="{app.name}">',
        f'<rect x="{x}" y="{y}" width="{APP_W}" height="{APP_H}" rx="8"/>',
        f'<text class="app-name" x="{x + 12}" y="{y + 24}">{escape(label)}</text>',
    ]
    for i, line in enumerate(lines):
        parts.append(
            f'<text class="app-detail" x="{x + 12}" y="{y + 46 + i * 17}">{escape(line)}</text>'
        )
    # The database as a cylinder at the box's right.
    cx, cy = x + APP_W - 34, y + 30
    parts.append(
        f'<g class="db"><title>{escape(app.place)}</title>'
        f'<path d="M{cx - 16},{cy} v30 a16,6 0 0,0 32,0 v-30"/>'
        f'<ellipse cx="{cx}" cy="{cy}" rx="16" ry="6"/></g>'
    )
    parts.append("</g>")
    return "".join(parts)


def _process_box(process: Process, x: int, y: int, height: int) -> str:
    width = APP_W + 2 * PAD
    title = process.name if process.name != MONOLITH else "monolith"
    link = (
        f'<a href="{escape(process.metrics_url)}" class="metrics-link">'
        f'<text x="{x + width - 14}" y="{y + 44}" text-anchor="end">/metrics</text></a>'
        if process.metrics_url
        else ""
    )
    extra = ""
    if process.serves and process.name != MONOLITH:
        extra = f" · serves {', '.join(process.serves)}"
    elif process.serves:
        extra = f" · also serves {', '.join(process.serves)} over gRPC"
    return (
        f'<g class="process" id="process-{process.name}" data-process="{process.name}">'
        f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="12"/>'
        f'<circle class="health unknown" id="health-{process.name}" cx="{x + 20}" cy="{y + 22}" r="7">'
        f"<title>health unknown</title></circle>"
        f'<text class="process-name" x="{x + 36}" y="{y + 27}">{escape(title)}</text>'
        f'<text class="process-cmd" x="{x + 14}" y="{y + 44}">{escape(process.command + extra)}</text>'
        f"{link}</g>"
    )


def svg(topology: Topology) -> str:
    """The topology as an inline SVG: processes hold their apps; solid arrows are in-process
    calls, dashed ones gRPC."""
    boxes: dict[str, tuple[int, int]] = {}
    shapes: list[str] = []
    monolith, *others = topology.processes
    # The monolith on the left, its apps stacked; the other processes on the right.
    y = 20
    mono_height = HEAD + len(monolith.apps) * (APP_H + GAP) + PAD - GAP
    shapes.append(_process_box(monolith, LEFT_X - PAD, y, mono_height))
    for i, name in enumerate(monolith.apps):
        boxes[name] = (LEFT_X, y + HEAD + i * (APP_H + GAP))
    y_right = 20
    for process in others:
        height = HEAD + (APP_H + PAD if process.apps else 8)
        shapes.append(_process_box(process, RIGHT_X - PAD, y_right, height))
        for name in process.apps:
            boxes[name] = (RIGHT_X, y_right + HEAD)
        y_right += height + GAP
    height = max(20 + mono_height, y_right) + 20
    arrows = []
    left_bend = right_bend = 0
    for call in topology.calls:
        (x1, y1), (x2, y2) = boxes[call.caller], boxes[call.callee]
        ya, yb = y1 + APP_H / 2, y2 + APP_H / 2
        if x1 == x2:
            # Same column: a curve out to the side of the column.
            if x1 == LEFT_X:
                left_bend += 1
                bend = x1 - 4 - left_bend * 3
                sx = ex = x1
                d = f"M{sx},{ya} C{bend - 10},{ya} {bend - 10},{yb} {ex},{yb}"
            else:
                right_bend += 1
                sx = ex = x1 + APP_W
                bend = sx + 4 + right_bend * 4
                d = f"M{sx},{ya} C{bend + 10},{ya} {bend + 10},{yb} {ex},{yb}"
        else:
            sx = x1 + APP_W if x1 < x2 else x1
            ex = x2 if x1 < x2 else x2 + APP_W
            mid = (sx + ex) / 2
            d = f"M{sx},{ya} C{mid},{ya} {mid},{yb} {ex},{yb}"
        cls = "call grpc" if call.kind == "gRPC" else "call local"
        tip = f"{call.caller} → {call.callee}: {call.kind}" + (
            f" ({call.target})" if call.target else ""
        )
        arrows.append(
            f'<path class="{cls}" data-caller="{call.caller}" data-callee="{call.callee}" '
            f'd="{d}" marker-end="url(#arrow)"><title>{escape(tip)}</title></path>'
        )
    apps = [_app_box(topology.apps[name], *boxes[name]) for name in boxes]
    # Without processes on the right (phase 0) the picture is one column wide.
    width = WIDTH if others else LEFT_X + APP_W + PAD + 40
    legend_y = height - 8
    legend = (
        f'<g class="legend"><path class="call local" d="M{LEFT_X},{legend_y} h40"/>'
        f'<text x="{LEFT_X + 48}" y="{legend_y + 4}">in-process call</text>'
        f'<path class="call grpc" d="M{LEFT_X + 200},{legend_y} h40"/>'
        f'<text x="{LEFT_X + 248}" y="{legend_y + 4}">gRPC call</text></g>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="topology{" wide" if others else ""}" '
        f'role="img" viewBox="0 0 {width} {height + 14}" aria-labelledby="topology-title">'
        f'<title id="topology-title">{escape(topology.description)}</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>'
        + "".join(shapes)
        + "".join(apps)
        + "".join(arrows)
        + legend
        + "</svg>"
    )
