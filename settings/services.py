"""Services: PostgreSQL, Redis, RabbitMQ and Kafka, all named by the environment."""

from settings.base import *  # noqa: F403
from settings.base import (
    ECOMMERCE_PHASE,
    ECOMMERCE_SERVES,
    SERVICE_ALIASES,
    database_place,
    env,
    postgres,
    process_databases,
    sibling_database,
)

DATABASE_URL = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/ecommerce")

DATABASES = {"default": postgres(DATABASE_URL)}
for _alias in SERVICE_ALIASES:
    _own = env.str(f"{_alias.upper()}_DATABASE_URL", default="")
    if not _own and ECOMMERCE_PHASE.is_remote(_alias):
        # An extracted service never shares the monolith's database, even unconfigured.
        _own = sibling_database(DATABASE_URL, _alias)
    # Without its own URL an alias lives in the edge's database, in a schema of its own.
    DATABASES[_alias] = postgres(_own) if _own else postgres(DATABASE_URL, schema=_alias)
# Phases 1-3: the edge has no connection to an extracted service's database, a service none to
# the edge's (settings.test keeps them all: the test process builds every database).
# Every alias's place in this phase, whichever process owns it (`manage.py phase` shows it).
DATABASE_PLACES = {alias: database_place(config) for alias, config in DATABASES.items()}
DATABASES = process_databases(DATABASES, ECOMMERCE_PHASE, ECOMMERCE_SERVES)

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="ecommerce"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
            # A cache outage degrades to the database; it never fails a request.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="amqp://guest:guest@127.0.0.1:5672//")
