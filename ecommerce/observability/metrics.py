"""Every process's `/metrics` and `/healthz`, on its own port.

The series live beside the code that records them (module-level prometheus_client metrics, as
in `apps/product/cache.py` or `ecommerce/transports/grpc/interceptors.py`); this module only serves them.
The web process serves them itself (django-prometheus, on its HTTP port) and `serve <app>` on
its HTTP port; every other process (Celery workers, relays, the analytics consumer, the payment
reconciler) calls `serve()` at start, on `METRICS_PORT` or its entry in `METRICS_PORTS`.

A process that forks workers (gunicorn, Celery's prefork pool) uses prometheus_client's
multiprocess mode: `multiprocess_prepare()` runs before prometheus_client is first imported and
gives the process tree a fresh directory, every worker writes its values there, and a scrape of
the parent reads them all (`MultiProcessCollector`). This module therefore imports
prometheus_client only inside its functions.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_registry = None
_registry_lock = threading.Lock()


def multiprocess_prepare(name: str) -> str:
    """A fresh multiprocess directory for this process and the workers it forks; call before
    prometheus_client is imported. An inherited directory belongs to another process: never
    shared, so one scrape sees exactly this process tree."""
    if "prometheus_client" in sys.modules and MULTIPROC_ENV not in os.environ:
        raise RuntimeError("multiprocess_prepare() must run before prometheus_client is imported")
    _remove_orphans()
    path = tempfile.mkdtemp(prefix=f"prometheus-{name}-{os.getpid()}-")
    os.environ[MULTIPROC_ENV] = path
    return path


def _remove_orphans() -> None:
    """Directories of processes that died without cleaning up (SIGKILL, a crash) go now."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "prometheus-*-*-*")):
        pid = os.path.basename(path).split("-")[-2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


def starting_celery_worker() -> bool:
    """Whether this import is `celery ... worker` loading its app: click has resolved the
    subcommand by the time the `celery` group loads `-A ecommerce`, before Django's setup."""
    click = sys.modules.get("click")
    context = click.get_current_context(silent=True) if click is not None else None
    while context is not None:
        if context.invoked_subcommand == "worker" or context.info_name == "worker":
            return True
        context = context.parent
    return False


def multiprocess_cleanup() -> None:
    path = os.environ.get(MULTIPROC_ENV)
    if path and os.path.basename(path).startswith("prometheus-"):
        shutil.rmtree(path, ignore_errors=True)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def mark_process_dead(pid: int) -> None:
    """A forked worker ended: its live gauges leave the scrape (gunicorn's child_exit, Celery's
    pool process shutdown)."""
    if multiprocess_mode():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def registry():
    """What this process's /metrics shows: every worker's files in multiprocess mode, else the
    default registry; scrape-time collectors (`add_collector`) are added to it."""
    global _registry
    with _registry_lock:
        if _registry is None:
            from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

            if multiprocess_mode():
                _registry = CollectorRegistry()
                multiprocess.MultiProcessCollector(_registry)
            else:
                _registry = REGISTRY
        return _registry


_added: set[str] = set()


def add_collector(key: str, collector: Any) -> None:
    """Add a collector read at scrape time (a queue depth, a backlog), once per `key`."""
    if key not in _added:
        _added.add(key)
        registry().register(collector)


class ScrapeCollector:
    """A collector whose families come from a function called at each scrape, in the scrape's
    thread; a failure is logged and yields nothing (the target stays up, the series go away).
    Database connections the function opened are closed after it, as after a request."""

    def __init__(self, families: Callable[[], Iterable[Any]], *, databases: bool = True) -> None:
        self._families = families
        self._databases = databases

    def describe(self):
        return []

    def collect(self):
        try:
            return list(self._families())
        except Exception:
            logger.warning("metrics: a scrape-time collector failed", exc_info=True)
            return []
        finally:
            if self._databases:
                from django.db import connections

                connections.close_all()


def port_for(name: str) -> int:
    """`METRICS_PORT` when set (0: any free port), else the process's entry in METRICS_PORTS."""
    if os.environ.get("METRICS_PORT", "") != "":
        return int(os.environ["METRICS_PORT"])
    from django.conf import settings

    return settings.METRICS_PORTS[name]


def metrics_host() -> str:
    return os.environ.get("METRICS_HOST") or os.environ.get("SERVICE_HOST") or "127.0.0.1"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        """A scrape every few seconds would drown the log."""


def wsgi_app(name: str, registry_=None) -> Callable:
    """/metrics (the registry, in Prometheus' text format) and /healthz (the process is up)."""
    from prometheus_client import make_wsgi_app

    metrics = make_wsgi_app(registry_ or registry())
    health = json.dumps({"status": "ok", "process": name}).encode()

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [health]
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error": {"code": "not_found", "message": "Not found.", "details": {}}}']

    return app


def serve(name: str, port: int | None = None, *, announce: bool = True) -> int | None:
    """Serve /metrics and /healthz on a daemon thread; answers the port, or None (logged) when
    it cannot listen, so a busy port costs the metrics, never the process. `announce` also
    prints where, as a JSON line on stdout (Celery's stdout is its log: it logs instead)."""
    port = port_for(name) if port is None else port
    host = metrics_host()
    try:
        server = make_server(host, port, wsgi_app(name), _Server, handler_class=_QuietHandler)
    except OSError as exc:
        logger.warning(
            "metrics: %s cannot listen on %s:%s (%s); no /metrics", name, host, port, exc
        )
        return None
    bound = server.server_address[1]
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("metrics: %s serves http://%s:%s/metrics", name, host, bound)
    if announce:  # whatever the log level: where to scrape this process
        print(json.dumps({"event": "metrics", "process": name, "port": bound}), flush=True)
    return bound
