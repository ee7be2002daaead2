"""Run one app as a service: its gRPC servicer, health, reflection, /metrics and its queues."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ecommerce.observability import tracing
from ecommerce.transports.grpc.contracts import CONTRACTS
from ecommerce.transports.grpc.server import build_server, set_serving
from ecommerce.wiring import resolver
from phases.services import SERVICES

logger = logging.getLogger("ecommerce.serve")


class Command(BaseCommand):
    help = (
        "Serve one app as its own process: gRPC (servicer, health, reflection), HTTP "
        "/healthz /readyz /metrics, and a Celery worker for the app's queue."
    )

    def add_arguments(self, parser):
        parser.add_argument("app", choices=SERVICES)
        parser.add_argument("--grpc-port", type=int, default=None)
        parser.add_argument("--http-port", type=int, default=None)
        parser.add_argument("--host", default=os.environ.get("SERVICE_HOST", "127.0.0.1"))
        parser.add_argument(
            "--grace", type=float, default=10.0, help="Seconds in-flight calls get on shutdown."
        )
        parser.add_argument("--threads", type=int, default=16)
        parser.add_argument("--no-worker", action="store_true", help="No Celery worker.")
        parser.add_argument(
            "--worker-metrics-port",
            type=int,
            default=None,
            help="Where the worker serves /metrics (default: METRICS_PORTS['<app>-worker']).",
        )
        parser.add_argument(
            "--migrate", action="store_true", help="Apply the app's migrations to its database."
        )

    def handle(self, *args, app: str, **options):
        if app not in settings.ECOMMERCE_SERVES:
            # The settings decide which databases this process may open; they must be built
            # knowing what it serves, so start again with that said in the environment.
            env = dict(os.environ, ECOMMERCE_SERVES=app)
            os.execvpe(sys.executable, [sys.executable, *sys.argv], env)
        if options["migrate"]:
            call_command("migrate_all", verbosity=0)
        tracing.setup(app)
        servicer = CONTRACTS[app].servicer(resolver.local_adapter(app))
        grpc_port = options["grpc_port"]
        if grpc_port is None:
            # Listen where the callers are told to call: the port of <APP>_GRPC_TARGET.
            grpc_port = int(settings.GRPC_TARGETS[app].rsplit(":", 1)[1])
        http_port = options["http_port"]
        if http_port is None:
            http_port = settings.SERVICE_HTTP_PORTS[app]
        names = (servicer.service_name,)
        server, bound, health = build_server(
            register=servicer.register,
            service_names=names,
            address=f"{options['host']}:{grpc_port}",
            max_workers=options["threads"],
        )
        serving = threading.Event()
        http = ThreadingHTTPServer((options["host"], http_port), _probe_handler(app, serving))
        threading.Thread(target=http.serve_forever, name="http", daemon=True).start()
        worker_metrics = options["worker_metrics_port"]
        if worker_metrics is None:
            worker_metrics = settings.METRICS_PORTS[f"{app}-worker"]
        worker = None if options["no_worker"] else _start_worker(app, worker_metrics)

        stopping = threading.Event()

        def stop(signum, frame):
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        server.start()
        set_serving(health, names, True)
        serving.set()
        self.stdout.write(
            json.dumps(
                {
                    "event": "serving",
                    "app": app,
                    "grpc": f"{options['host']}:{bound}",
                    "http": f"{options['host']}:{http.server_address[1]}",
                    "databases": sorted(a for a in settings.DATABASES if a != "default"),
                    "worker": worker.pid if worker else None,
                }
            )
        )
        self.stdout.flush()
        while not stopping.wait(0.5):
            if worker is not None and worker.poll() is not None:
                raise CommandError(f"the {app} worker exited ({worker.returncode})")
        # Drain: say NOT_SERVING so balancers stop sending, refuse new calls, let the calls
        # in flight finish within the grace period, then stop the worker the same way.
        serving.clear()
        set_serving(health, names, False)
        server.stop(options["grace"]).wait()
        if worker is not None:
            worker.send_signal(signal.SIGTERM)  # Celery's warm shutdown: finish current tasks
            try:
                worker.wait(options["grace"])
            except subprocess.TimeoutExpired:
                worker.kill()
        http.shutdown()
        self.stdout.write(json.dumps({"event": "stopped", "app": app}))


def _start_worker(app: str, metrics_port: int) -> subprocess.Popen:
    """A Celery worker for the queue named after the app, with this process's environment."""
    celery = Path(sys.executable).with_name("celery")
    return subprocess.Popen(
        [
            str(celery) if celery.exists() else "celery",
            "-A",
            "ecommerce",
            "worker",
            "--queues",
            app,
            "--hostname",
            f"{app}@%h",
            "--concurrency",
            os.environ.get("SERVICE_WORKER_CONCURRENCY", "2"),
            "--loglevel",
            "INFO",
        ],
        env=_worker_env(app, metrics_port),
    )


def _worker_env(app: str, metrics_port: int) -> dict[str, str]:
    env = dict(os.environ, ECOMMERCE_SERVES=app, METRICS_PORT=str(metrics_port))
    # A name the environment gives this process is the service's; its worker is `<name>-worker`,
    # as tracing names it when nothing is given.
    if name := env.get("OTEL_SERVICE_NAME", "").strip():
        env["OTEL_SERVICE_NAME"] = f"{name}-worker"
    return env


def _probe_handler(app: str, serving: threading.Event) -> type[BaseHTTPRequestHandler]:
    class ProbeHandler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/healthz":
                self._send(200, "application/json", json.dumps({"status": "ok"}).encode())
            elif self.path == "/readyz":
                checks, ready = _readiness(app, serving)
                body = {"status": "ready" if ready else "not_ready", "checks": checks}
                self._send(200 if ready else 503, "application/json", json.dumps(body).encode())
            elif self.path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest())
            else:
                self._send(404, "application/json", b'{"error": {"code": "not_found"}}')

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            """Probes every few seconds would drown the log."""

    return ProbeHandler


def _readiness(app: str, serving: threading.Event) -> tuple[dict, bool]:
    checks: dict[str, dict] = {"grpc": {"ok": serving.is_set()}}
    try:
        with connections[app].cursor() as cursor:
            cursor.execute("SELECT 1")
        checks[f"database:{app}"] = {"ok": True}
    except Exception as exc:  # any failure means: do not send traffic here
        checks[f"database:{app}"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        connections[app].close()
    return checks, all(check["ok"] for check in checks.values())
