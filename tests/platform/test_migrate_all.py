"""`migrate_all` in services mode with only DATABASE_URL: one scratch database, a schema per alias."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.db import router

from tests.fixtures.services import empty_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scratch_database():
    """A throwaway PostgreSQL database on the test server, dropped afterwards."""
    with empty_database("default", f"scratch_{uuid.uuid4().hex[:8]}") as url:
        yield url


def _tables_by_schema(url: str) -> dict[str, set[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    found: dict[str, set[str]] = {}
    for schema, table in rows:
        found.setdefault(schema, set()).add(table)
    return found


def test_every_service_alias_ends_in_its_own_schema(scratch_database, tmp_path):
    # given: services mode and nothing but DATABASE_URL
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ECOMMERCE_MODE": "services",
        "DATABASE_URL": scratch_database,
        "ECOMMERCE_VAR_DIR": str(tmp_path),
    }
    # when
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate_all", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    # then
    assert migrated.returncode == 0, migrated.stderr
    tables = _tables_by_schema(scratch_database)
    schema_of = {"default": "public"} | {alias: alias for alias in settings.SERVICE_ALIASES}
    assert set(schema_of.values()) <= set(tables)
    for schema in schema_of.values():
        assert "django_migrations" in tables[schema], schema
    for model in apps.get_models():
        alias = router.db_for_write(model)
        table = model._meta.db_table
        holders = {schema for schema, names in tables.items() if table in names}
        assert holders == {schema_of[alias]}, f"{table} is in {holders}, not {schema_of[alias]}"
