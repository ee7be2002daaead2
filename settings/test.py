"""Tests: services mode, every alias a separate PostgreSQL database, a Redis db of its own."""

import os

os.environ.setdefault("ECOMMERCE_MODE", "services")

from settings.services import *  # noqa: E402, F403
from settings.services import SERVICE_ALIASES, database_place, env, postgres  # noqa: E402

_server = env.str("TEST_POSTGRES_URL", default="postgres://postgres@127.0.0.1:5432")
# Lets several checkouts of the project run their suites side by side on one server.
_suffix = env.str("TEST_DB_SUFFIX", default="")
# A process a test starts (a worker, a service) opens the databases the test runner created.
_prefix = "test_" if env.bool("ECOMMERCE_USE_TEST_DATABASES", default=False) else ""
DATABASES = {
    alias: postgres(f"{_server}/{_prefix}ecommerce_{alias}{_suffix}") | {"CONN_MAX_AGE": 0}
    for alias in ("default", *SERVICE_ALIASES)
}

CACHES["default"]["LOCATION"] = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/13")  # noqa: F405
# Processes a test starts (workers, services) pass theirs on so they share the test's cache keys.
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default=f"test{os.getpid()}")  # noqa: F405

# No rate limits: the suites make many requests from one address. The throttle tests turn
# them on with override_settings; a process a test starts may get some by TEST_THROTTLE_RATES
# ("sign_in=3/m,checkout=2/m").
THROTTLE_RATES = env.dict("TEST_THROTTLE_RATES", default={})

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if not env.str("LOG_FORMAT", default=""):
    # Quiet unless a test asks for a format (a process it starts, to read its lines).
    LOGGING = {"version": 1, "disable_existing_loggers": False}
DATABASE_PLACES = {alias: database_place(config) for alias, config in DATABASES.items()}
