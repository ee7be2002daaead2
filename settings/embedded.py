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
        "OPTIONS": {
            # Every transaction takes the write lock when it begins (BEGIN IMMEDIATE), so a
            # writer waits its turn, up to `timeout` seconds, instead of failing half-way with
            # `database is locked` when it upgrades from reading to writing.
            "transaction_mode": "IMMEDIATE",
            "timeout": env.float("SQLITE_TIMEOUT", default=30.0),
            # WAL lets the web process and the workers read while one writes; NORMAL syncs at
            # checkpoints only, which WAL keeps safe against corruption.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
    for alias in ("default", *SERVICE_ALIASES)
}
# A file per alias is already a database per service; a process opens only the ones it owns.
# Every alias's place in this phase, whichever process owns it (`manage.py phase` shows it).
DATABASE_PLACES = {alias: database_place(config) for alias, config in DATABASES.items()}
DATABASES = process_databases(DATABASES, ECOMMERCE_PHASE, ECOMMERCE_SERVES)

# The checkout saga's lock files (apps/order/saga_lock.py): one empty file per order.
SAGA_LOCK_DIR = VAR_DIR / "locks"

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
# kombu's filesystem transport, with messages that appear in the folder only once written whole.
CELERY_BROKER_TRANSPORT = "ecommerce.devservers.filesystem_broker:Transport"
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
