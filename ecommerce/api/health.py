"""Liveness and readiness: /healthz says the process runs, /readyz that its dependencies answer."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse

from ecommerce.celery import app as celery_app
from ecommerce.wiring import resolver


def healthz(request):
    return JsonResponse({"status": "ok"})


def local_aliases() -> list[str]:
    """The databases this process may touch: the edge's, and those of the apps it runs."""
    return ["default"] + [
        alias
        for alias in settings.SERVICE_ALIASES
        if alias == "analytics"
        or not resolver.current_phase().is_remote(alias)
        or alias in resolver.serving_locally()
    ]


def _check_database(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    if settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
        # The cache swallows Redis's errors (an outage degrades to the database), so the probe
        # asks Redis itself: the error then names the server that is down.
        from django_redis import get_redis_connection

        get_redis_connection("default").ping()
    key = "readyz:probe"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was stored")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        # One quick retry: a readiness probe must answer well within its own timeout.
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)


def readyz(request):
    checks = {
        f"database:{alias}": (lambda a=alias: _check_database(a)) for alias in local_aliases()
    }
    checks["cache"] = _check_cache
    checks["broker"] = _check_broker
    results, ready = {}, True
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            check()
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as exc:  # every failure is a reason not to take traffic
            ready = False
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return JsonResponse(
        {"status": "ready" if ready else "not_ready", "checks": results},
        status=200 if ready else 503,
    )
