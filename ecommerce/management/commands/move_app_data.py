"""Move an app's tables from the monolith's database to its service's database, or back.

Rows are copied table by table (COPY, in the app's model order), the target's sequences are set
past the copied ids, and every table's row count and checksum are compared on both sides before
anything is committed. Only then are the source's tables emptied, so each row lives in exactly
one place. `--rollback` is the same move in the other direction.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql

from phases.services import SERVICES
from settings.base import sibling_database


class Command(BaseCommand):
    help = (
        "Move an app's rows from the monolith's database to the service's own database "
        "(verifying row counts and checksums), or back with --rollback."
    )

    def add_arguments(self, parser):
        parser.add_argument("app", choices=SERVICES)
        parser.add_argument("--rollback", action="store_true", help="Service -> monolith.")
        parser.add_argument("--monolith-url", default=None)
        parser.add_argument("--monolith-schema", default=None)
        parser.add_argument("--service-url", default=None)
        parser.add_argument(
            "--no-migrate", action="store_true", help="The service's tables already exist."
        )

    def handle(self, *args, app: str, **options):
        monolith_url = options["monolith_url"] or os.environ.get(
            "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ecommerce"
        )
        monolith_schema = options["monolith_schema"] or (
            app if not options["monolith_url"] else "public"
        )
        service_url = options["service_url"] or os.environ.get(
            f"{app.upper()}_DATABASE_URL", sibling_database(monolith_url, app)
        )
        monolith = (monolith_url, monolith_schema)
        service = (service_url, "public")
        if not options["no_migrate"] and not options["rollback"]:
            self._migrate(app, service_url)
        source, target = (service, monolith) if options["rollback"] else (monolith, service)
        tables = app_tables(app)
        report = move(tables, source=source, target=target)
        direction = "service -> monolith" if options["rollback"] else "monolith -> service"
        self.stdout.write(f"{app}: moved {direction}")
        for table, (rows, checksum) in report.items():
            self.stdout.write(f"  {table:32} {rows:8} rows  md5 {checksum}")

    def _migrate(self, app: str, url: str) -> None:
        """Create the service's tables the way the service itself would: its own settings."""
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="settings.services",
            ECOMMERCE_MODE="services",
            ECOMMERCE_SERVES=app,
            **{f"{app.upper()}_DATABASE_URL": url},
        )
        manage = Path(settings.BASE_DIR) / "manage.py"
        done = subprocess.run(
            [sys.executable, str(manage), "migrate_all", "-v0"],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise CommandError(f"migrating the {app} service's database failed:\n{done.stderr}")


def app_tables(app: str) -> list[str]:
    """The app's tables, parents before children (models are declared in that order)."""
    tables = []
    for model in apps.get_app_config(app).get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            tables.append(model._meta.db_table)
    return tables


def _connect(url: str, schema: str) -> psycopg.Connection:
    return psycopg.connect(url, options=f"-c search_path={schema}")


def fingerprint(cursor: psycopg.Cursor, table: str) -> tuple[int, str]:
    """Row count and an order-independent checksum of every row's text form."""
    cursor.execute(
        sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), ''))"
            " FROM {} AS t"
        ).format(sql.Identifier(table))
    )
    count, checksum = cursor.fetchone()
    return count, checksum


def move(
    tables: list[str], *, source: tuple[str, str], target: tuple[str, str]
) -> dict[str, tuple[int, str]]:
    report: dict[str, tuple[int, str]] = {}
    with _connect(*source) as src, _connect(*target) as dst:
        with src.cursor() as read, dst.cursor() as write:
            # The source must not change while it is copied: writers wait, readers go on.
            read.execute(
                sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
                    sql.SQL(", ").join(sql.Identifier(t) for t in tables)
                )
            )
            for table in tables:
                write.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(table)))
                if write.fetchone():
                    raise CommandError(f"{table} is not empty in the target: nothing was moved")
            for table in tables:
                name = sql.Identifier(table)
                with (
                    read.copy(sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(name)) as out,
                    write.copy(sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(name)) as into,
                ):
                    for block in out:
                        into.write(block)
                _advance_sequence(write, table)
                expected, found = fingerprint(read, table), fingerprint(write, table)
                if expected != found:
                    raise CommandError(
                        f"{table}: the copy does not match ({found} vs {expected}); "
                        "nothing was moved"
                    )
                report[table] = found
            dst.commit()
            # The rows now live in the target only; emptying the source is the last step.
            read.execute(
                sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in tables))
            )
        src.commit()
    return report


def _advance_sequence(cursor: psycopg.Cursor, table: str) -> None:
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    row = cursor.fetchone()
    if row and row[0]:
        cursor.execute(
            sql.SQL("SELECT setval(%s, coalesce((SELECT max(id) FROM {}), 0) + 1, false)").format(
                sql.Identifier(table)
            ),
            [row[0]],
        )
