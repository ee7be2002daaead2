"""Embedded: no servers. A SQLite file per alias, a filesystem broker, a file cache."""

from settings.base import *  # noqa: F403
from settings.base import (
    ECOMMERCE_PHASE,
    ECOMMERCE_SERVES,
    KAFKA_LOCAL_PORT,
    SERVICE_ALIASES,
    STRIPE_LOCAL_PORT,
    VAR_DIR,
    database_place,
    env,
    process_databases,
)

DEBUG = env.bool("DJANGO_DEBUG", default=True)

(VAR_DIR / "db").mkdir(parents=True, exist_ok=True)
DATABASES = {
    alias: {
        "ENGINE": "django_prometheus.db.backends.sqlite3",
        "NAME": VAR_DIR / "db" / f"{alias}.sqlite3",
        # WAL lets the web process and the workers read while one writes.
        "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
    }
    for alias in ("default", *SERVICE_ALIASES)
}
# A file per alias is already a database per service; a process opens only the ones it owns.
# Every alias's place in this phase, whichever process owns it (`manage.py phase` shows it).
DATABASE_PLACES = {alias: database_place(config) for alias, config in DATABASES.items()}
DATABASES = process_databases(DATABASES, ECOMMERCE_PHASE, ECOMMERCE_SERVES)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
}

_broker = VAR_DIR / "broker"
for sub in ("out", "processed", "control"):
    (_broker / sub).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(_broker / "out"),
    "data_folder_out": str(_broker / "out"),
    "processed_folder": str(_broker / "processed"),
    # Remote-control (pidbox) messages, which would otherwise land in ./control.
    "control_folder": str(_broker / "control"),
    "store_processed": False,
    # The filesystem transport polls; a tenth of a second keeps a demo checkout snappy.
    "polling_interval": 0.1,
}

# Payments go to the local Stripe-compatible server that `make run` starts (phases/Procfile.*).
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default=f"http://127.0.0.1:{STRIPE_LOCAL_PORT}")

# The Tansu broker that `make run` starts (phases/Procfile.phase0).
KAFKA_BOOTSTRAP_SERVERS = env.str(
    "KAFKA_BOOTSTRAP_SERVERS", default=f"127.0.0.1:{KAFKA_LOCAL_PORT}"
)
