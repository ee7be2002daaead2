"""`DATABASE_POOL` puts psycopg's connection pool behind every PostgreSQL alias, and the pool
hands one backend to request after request (docs/database.md, "Connections")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections
from django.db.utils import ConnectionHandler

from settings.base import postgres

ROOT = Path(__file__).resolve().parents[2]


def _url(settings_dict: dict) -> str:
    """The test database the runner built, as a URL for settings.base.postgres."""
    return (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )


@pytest.mark.django_db
def test_database_pool_selects_a_pool_that_returns_its_connection_between_requests(monkeypatch):
    # One connection (a sync worker's one thread needs no more): a larger pool may hand out
    # the connection it grew meanwhile instead.
    monkeypatch.setenv("DATABASE_POOL", "1")
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "600")  # a pool replaces persistent connections
    config = postgres(_url(connections["default"].settings_dict))
    assert config["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 1, "timeout": 10.0}
    assert config["CONN_MAX_AGE"] == 0

    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.dummy"}, "pooled": config}
    )
    connection = handler["pooled"]
    try:
        assert connection.pool is not None
        backends = []
        for _ in range(2):
            # What Django does at each request's start and end (close_old_connections).
            connection.close_if_unusable_or_obsolete()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.append(cursor.fetchone()[0])
            connection.close_if_unusable_or_obsolete()
            assert connection.connection is None  # handed back, not kept by the request
        assert backends[0] == backends[1], "the second request opened a backend of its own"
        assert connection.pool.get_stats()["requests_num"] == 2  # both came from the pool
    finally:
        connection.close()
        connection.close_pool()


def _databases(extra: dict[str, str]) -> subprocess.CompletedProcess:
    probe = (
        "import json; from django.conf import settings; print(json.dumps({a: [c['CONN_MAX_AGE'], "
        "c.get('OPTIONS', {}).get('pool')] for a, c in settings.DATABASES.items()}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")} | extra
    env |= {"DJANGO_SETTINGS_MODULE": "settings.services", "ECOMMERCE_MODE": "services"}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {probe}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_services_settings_pool_every_alias_or_keep_connections_as_told():
    pooled = _databases({"DATABASE_POOL": "4", "DATABASE_CONN_MAX_AGE": "600"})
    assert pooled.returncode == 0, pooled.stderr
    databases = json.loads(pooled.stdout.strip().splitlines()[-1])
    assert set(databases) >= {"default", "product", "cart", "order", "payment"}
    for age, pool in databases.values():
        assert (age, pool) == (0, {"min_size": 4, "max_size": 4, "timeout": 10.0})

    persistent = _databases({"DATABASE_CONN_MAX_AGE": "600"})
    assert persistent.returncode == 0, persistent.stderr
    for age, pool in json.loads(persistent.stdout.strip().splitlines()[-1]).values():
        assert (age, pool) == (600, None)


@pytest.mark.parametrize("value", ["many", "4,2", "1,2,3", "-1"])
def test_a_malformed_database_pool_is_refused_by_name(value):
    refused = _databases({"DATABASE_POOL": value})
    assert refused.returncode != 0
    assert "DATABASE_POOL" in refused.stderr
