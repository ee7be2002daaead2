"""Migrate every database alias, creating per-alias schemas where aliases share a database."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections


class Command(BaseCommand):
    help = "Apply migrations to the edge's database and to every service's own database."

    def add_arguments(self, parser):
        parser.add_argument("--alias", action="append", help="Only these aliases (repeatable).")

    def handle(self, *args, **options):
        # A process has only the databases it owns; the others are Django's refusing dummy.
        aliases = options["alias"] or [
            alias
            for alias, config in settings.DATABASES.items()
            if not config.get("ENGINE", "").endswith("dummy")
        ]
        for alias in aliases:
            schema = settings.DATABASES[alias].get("SCHEMA")
            if schema:
                with connections[alias].cursor() as cursor:
                    cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self.stdout.write(self.style.MIGRATE_HEADING(f"== {alias}"))
            call_command(
                "migrate", database=alias, interactive=False, verbosity=options["verbosity"]
            )
