"""Database routing: each bounded context's models live in, and only in, its own alias."""

from __future__ import annotations

from phases.services import DATABASE_ALIASES

SERVICE_APPS = frozenset(DATABASE_ALIASES)


def alias_for(app_label: str) -> str:
    return app_label if app_label in SERVICE_APPS else "default"


class AppDatabaseRouter:
    """Sends `apps.<name>` models to alias `<name>`, everything else to `default`.

    Relations are allowed only inside one alias, so no foreign key or join can cross services.
    """

    def db_for_read(self, model, **hints):
        return alias_for(model._meta.app_label)

    def db_for_write(self, model, **hints):
        return alias_for(model._meta.app_label)

    def allow_relation(self, obj1, obj2, **hints):
        return alias_for(obj1._meta.app_label) == alias_for(obj2._meta.app_label)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return alias_for(app_label) == db
