"""What every way of running shares. Overlays only override; values come from the environment."""

from __future__ import annotations

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from phases import parse as parse_phase
from phases import services as _services

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("ECOMMERCE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])

ECOMMERCE_MODE = env.str("ECOMMERCE_MODE", default="embedded")
# The one setting a process reads to know its phase; the resolver and the runner derive all else.
ECOMMERCE_PHASE = parse_phase(env.str("PHASE", default="0"), env.str("EXTRACTED", default=""))
# Apps this process serves itself although the phase makes them remote (`manage.py serve <app>`).
ECOMMERCE_SERVES: tuple[str, ...] = tuple(env.list("ECOMMERCE_SERVES", default=[]))

SERVICE_ALIASES = _services.DATABASE_ALIASES

# The parallel run and the gradual cut-over of a service still in the monolith (ecommerce/wiring/shadow.py,
# ecommerce/wiring/cutover.py). SHADOW names the services whose reads are also made, and compared, on
# their gRPC service, off the caller's path, on SHADOW_WORKERS threads with SHADOW_QUEUE places
# (a full queue drops the comparison); the first SHADOW_LOG_MISMATCHES mismatches are logged.
SHADOW: tuple[str, ...] = tuple(env.list("SHADOW", default=[]))
SHADOW_WORKERS = env.int("SHADOW_WORKERS", default=2)
SHADOW_QUEUE = env.int("SHADOW_QUEUE", default=100)
SHADOW_LOG_MISMATCHES = env.int("SHADOW_LOG_MISMATCHES", default=10)


# CUTOVER=product:25,cart:0 names the services whose calls may go to their gRPC service while
# the phase keeps them in-process, with each one's default share in percent; the admin's
# CutoverShare rows override it live, read again every CUTOVER_REFRESH_SECONDS.
def _cutover(parts: list[str]) -> dict[str, int]:
    shares = {}
    for part in parts:
        name, _, percent = part.partition(":")
        if not percent.strip().isdigit() or int(percent) > 100:
            raise ImproperlyConfigured(f"CUTOVER: {part!r} is not service:percent (0-100)")
        shares[name.strip()] = int(percent)
    return shares


CUTOVER: dict[str, int] = _cutover(env.list("CUTOVER", default=[]))
CUTOVER_REFRESH_SECONDS = env.float("CUTOVER_REFRESH_SECONDS", default=5.0)
for _name, _named in (("SHADOW", set(SHADOW)), ("CUTOVER", set(CUTOVER))):
    if _unknown := _named - set(_services.SERVICES):
        raise ImproperlyConfigured(f"{_name} names no service: {', '.join(sorted(_unknown))}")

# Where the journey console links a checkout's trace (the Jaeger UI); empty: no link.
JAEGER_UI_URL = env.str("JAEGER_UI_URL", default="")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "ecommerce",
    "apps.accounts",
    "apps.product",
    "apps.cart",
    "apps.order",
    "apps.payment",
    "apps.analytics",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last before the views: what they let escape under /api/ still answers the error shape.
    "ecommerce.api.middleware.ApiErrorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# What a page may load: only this origin's scripts, styles, fonts and requests, nothing inline
# (the admin has none; Swagger UI's page is split so it has none), and the images Swagger UI's
# stylesheet carries as data: URIs. No framing, no plugins, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "ecommerce.urls"
WSGI_APPLICATION = "ecommerce.wsgi.application"
ASGI_APPLICATION = "ecommerce.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Each app's models live in its own alias; `default` holds accounts, auth, admin and sessions.
DATABASE_ROUTERS = ["ecommerce.wiring.db_router.AppDatabaseRouter"]
DATABASES: dict = {}  # filled by the overlay
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ecommerce.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "E-commerce decomposition API",
    "DESCRIPTION": "The public REST API of the edge; identical in every phase.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH inputs are whole Input serializers (a field left out is an error), not partials.
    "COMPONENT_SPLIT_PATCH": False,
    # Swagger UI from the installed package, not a CDN: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "StripeSignature": {
                "type": "apiKey",
                "in": "header",
                "name": "Stripe-Signature",
                "description": "Stripe's signature of the webhook's raw body.",
            }
        }
    },
    # Every operation documents the errors the framework may answer (401, 400, 404, 415).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ecommerce.api.errors.add_common_errors",
    ],
}

# Rate limits per scope (ecommerce/api/throttles.py), counted in the cache so every process
# shares them: "N/period" with s, m, h or d ("10/15m": 10 per 15 minutes); empty: no limit.
THROTTLE_RATES = {
    "sign_up": env.str("THROTTLE_SIGN_UP_RATE", default="100/h") or None,  # per client address
    "sign_in": env.str("THROTTLE_SIGN_IN_RATE", default="60/m") or None,  # per client address
    # failed sign-ins per account, from anywhere; past it the account takes no attempt a while
    "sign_in_failures": env.str("THROTTLE_SIGN_IN_FAILURES_RATE", default="10/15m") or None,
    "checkout": env.str("THROTTLE_CHECKOUT_RATE", default="60/m") or None,  # per user
}
# How many proxies of ours add to X-Forwarded-For; 0: the client is REMOTE_ADDR, whatever it says.
THROTTLE_NUM_PROXIES = env.int("THROTTLE_NUM_PROXIES", default=0)

CATALOGUE_CACHE_TIMEOUT = env.int("CATALOGUE_CACHE_TIMEOUT", default=300)
# With Redis as the cache, each process also keeps catalogue entries in its own memory, kept
# fresh by Redis pub/sub (apps/product/local_cache.py); at most this many seconds per entry.
CATALOGUE_LOCAL_CACHE = env.bool("CATALOGUE_LOCAL_CACHE", default=True)
CATALOGUE_LOCAL_TIMEOUT = env.int("CATALOGUE_LOCAL_TIMEOUT", default=60)
# The product list counts its matches up to this many; past it, `count` stops there and says so
# (`count_capped`), so a broad filter over a large catalogue never pays for a full count.
CATALOGUE_COUNT_LIMIT = env.int("CATALOGUE_COUNT_LIMIT", default=1_000)
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="USD")

# Celery: configured from here with the CELERY_ namespace; the broker comes from the overlay.
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A command that fails for good is rejected, so RabbitMQ dead-letters it instead of dropping it.
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = False
CELERY_TASK_DEFAULT_QUEUE = "order"
CELERY_TASK_ROUTES = {"cart.*": {"queue": "cart"}, "order.*": {"queue": "order"}}
CELERY_BEAT_SCHEDULE = {
    "checkout-saga-sweep": {
        "task": "order.saga_sweep",
        "schedule": env.float("SAGA_SWEEP_SECONDS", default=15.0),
    },
}

# Commands retry transport errors this many times, backing off, before they are dead-lettered.
COMMAND_MAX_RETRIES = env.int("COMMAND_MAX_RETRIES", default=5)
COMMAND_RETRY_BACKOFF_MAX = env.int("COMMAND_RETRY_BACKOFF_MAX", default=30)

# Checkout saga: when a saga counts as stuck, when it gives up, how hard each step retries.
SAGA_STUCK_SECONDS = env.int("SAGA_STUCK_SECONDS", default=30)
SAGA_TIMEOUT_SECONDS = env.int("SAGA_TIMEOUT_SECONDS", default=900)
SAGA_STEP_MAX_ATTEMPTS = env.int("SAGA_STEP_MAX_ATTEMPTS", default=8)
SAGA_RETRY_BACKOFF_MAX = env.float("SAGA_RETRY_BACKOFF_MAX", default=30.0)

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_local")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_local")
# Payments: the SDK retries network errors, 409s and 5xx this many times (backoff 0.5 s
# doubling, capped at 5 s) before a charge reports PaymentUnavailable; each try waits at most
# STRIPE_TIMEOUT seconds. The local Stripe-compatible server (`python -m stripe_local`) listens
# on STRIPE_LOCAL_PORT under `make run`.
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=10.0)
STRIPE_LOCAL_PORT = env.int("STRIPE_LOCAL_PORT", default=12111)

# Events and analytics: the outbox relays publish to one topic per service, named
# `<KAFKA_TOPIC_PREFIX><service>`; the analytics consumer reads them in its own group.
KAFKA_BOOTSTRAP_SERVERS = env.str("KAFKA_BOOTSTRAP_SERVERS", default="")
KAFKA_TOPIC_PREFIX = env.str("KAFKA_TOPIC_PREFIX", default="ecommerce.")
KAFKA_TOPIC_PARTITIONS = env.int("KAFKA_TOPIC_PARTITIONS", default=3)
KAFKA_LOCAL_PORT = env.int("KAFKA_LOCAL_PORT", default=19092)  # `make run`'s own Tansu
ANALYTICS_CONSUMER_GROUP = env.str("ANALYTICS_CONSUMER_GROUP", default="analytics")

PROMETHEUS_EXPORT_MIGRATIONS = False

# Log lines: plain for people (the default, what `make run` shows), or LOG_FORMAT=json, one
# object a line; both with the current span's trace_id and span_id (ecommerce/observability/logging.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "ecommerce.observability.logging.PlainFormatter"},
        "json": {"()": "ecommerce.observability.logging.JsonFormatter"},
    },
    "filters": {"trace": {"()": "ecommerce.observability.logging.TraceContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["trace"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # gunicorn's access line (its workers load Django after gunicorn set its handlers up).
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}


def database_pool(value: str) -> dict | None:
    """`DATABASE_POOL`: psycopg's pool sizes per alias and process, `MAX` or `MIN,MAX`; empty
    (or `0`, `off`) for none. Each process then keeps between MIN and MAX connections per alias
    (docs/database.md, "Connections")."""
    value = value.strip().lower()
    if value in ("", "0", "off", "false", "no"):
        return None
    try:
        sizes = [int(part) for part in value.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) == 1:
        sizes = [sizes[0], sizes[0]]
    if len(sizes) != 2 or not 0 <= sizes[0] <= sizes[1] or sizes[1] < 1:
        raise ImproperlyConfigured(
            f"DATABASE_POOL={value!r}: MAX or MIN,MAX connections per alias (e.g. 1,4), or empty"
        )
    # How long a request or task that finds every connection taken waits for one.
    timeout = env.float("DATABASE_POOL_TIMEOUT", default=10.0)
    return {"min_size": sizes[0], "max_size": sizes[1], "timeout": timeout}


def postgres(url: str, *, schema: str | None = None) -> dict:
    """A database entry from a URL, through django-prometheus so queries are counted.

    Connections: persistent for `DATABASE_CONN_MAX_AGE` seconds (0 closes each at the end of
    its request or task), or, with `DATABASE_POOL` set, taken from and returned to psycopg's
    pool (Django refuses a pool beside persistent connections, so CONN_MAX_AGE is then 0).
    """
    config = environ.Env.db_url_config(url)
    engine = config["ENGINE"]
    if engine.endswith("postgresql"):
        config["ENGINE"] = "django_prometheus.db.backends.postgresql"
        config.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=600))
        config["CONN_HEALTH_CHECKS"] = True
        pool = database_pool(env.str("DATABASE_POOL", default=""))
        if pool is not None:
            config.setdefault("OPTIONS", {})["pool"] = pool
            config["CONN_MAX_AGE"] = 0
        if schema:
            # Phase 0 may keep every alias in one database: each then gets its own schema,
            # so migrations and tables never meet.
            config.setdefault("OPTIONS", {})["options"] = f"-c search_path={schema}"
            config["SCHEMA"] = schema
    elif engine.endswith("sqlite3"):
        config["ENGINE"] = "django_prometheus.db.backends.sqlite3"
    return config


# gRPC between services (ecommerce/transports/grpc): where each service listens, the token every call
# carries, and the client policy (a deadline per call, retries on UNAVAILABLE when idempotent).
GRPC_PORTS = dict(_services.GRPC_PORTS)
SERVICE_HTTP_PORTS = dict(_services.HTTP_PORTS)
# /metrics and /healthz of the processes with no HTTP port of their own (ecommerce/observability/metrics.py);
# METRICS_PORT overrides a process's entry. `<app>-worker` is the Celery worker `serve` starts.
METRICS_PORTS = {
    "worker": 9100,
    **{f"{name}-worker": 9100 + n for n, name in enumerate(GRPC_PORTS, start=1)},
    **{f"relay-{name}": 9110 + n for n, name in enumerate(GRPC_PORTS, start=1)},
    "analytics": 9120,
    "reconcile-payments": 9121,
}
GRPC_TARGETS = {
    name: env.str(f"{name.upper()}_GRPC_TARGET", default=f"127.0.0.1:{port}")
    for name, port in GRPC_PORTS.items()
}
SERVICE_TOKEN = env.str("SERVICE_TOKEN", default="insecure-development-service-token")
GRPC_DEADLINE_SECONDS = env.float("GRPC_DEADLINE_SECONDS", default=3.0)
GRPC_RETRY_ATTEMPTS = env.int("GRPC_RETRY_ATTEMPTS", default=4)
GRPC_RETRY_BACKOFF_SECONDS = env.float("GRPC_RETRY_BACKOFF_SECONDS", default=0.1)
GRPC_RETRY_MAX_BACKOFF_SECONDS = env.float("GRPC_RETRY_MAX_BACKOFF_SECONDS", default=1.0)
# Mutual TLS on every gRPC call (ecommerce/transports/grpc/tls.py): the CA both ends trust, and this
# process's certificate and key, which it serves with and presents when it calls. PEM file
# paths; all three or none (none: plaintext, for one machine; settings.production requires them
# from phase 1 on).
GRPC_TLS_SETTINGS = ("GRPC_TLS_CA", "GRPC_TLS_CERT", "GRPC_TLS_KEY")
GRPC_TLS_CA = env.str("GRPC_TLS_CA", default="")
GRPC_TLS_CERT = env.str("GRPC_TLS_CERT", default="")
GRPC_TLS_KEY = env.str("GRPC_TLS_KEY", default="")
_tls_missing = [name for name in GRPC_TLS_SETTINGS if not globals()[name]]
_tls_given = [name for name in GRPC_TLS_SETTINGS if name not in _tls_missing]
if _tls_missing and _tls_given:
    raise ImproperlyConfigured(
        f"{' and '.join(_tls_missing)} {'is' if len(_tls_missing) == 1 else 'are'} not set, "
        f"but {' and '.join(_tls_given)} {'is' if len(_tls_given) == 1 else 'are'}: "
        "mutual TLS for gRPC needs all three"
    )


def sibling_database(url: str, alias: str) -> str:
    """The URL of a database next to `url`'s, named after it: where an extracted service's
    data lives when no URL of its own is given (`ecommerce` -> `ecommerce_cart`)."""
    base, _, rest = url.rpartition("/")
    name, sep, query = rest.partition("?")
    return f"{base}/{name}_{alias}{sep}{query}"


def database_place(config: dict) -> str:
    """Where an alias's data lives, for people: engine, host, database and schema; no secrets."""
    engine = config.get("ENGINE", "")
    if not engine or engine.endswith("dummy"):
        return "none"
    if engine.endswith("sqlite3"):
        return f"sqlite:{config['NAME']}"
    place = f"postgres://{config.get('HOST') or 'localhost'}:{config.get('PORT') or 5432}"
    place += f"/{config['NAME']}"
    return place + (f" (schema {config['SCHEMA']})" if config.get("SCHEMA") else "")


def process_databases(databases: dict, phase, serves: tuple[str, ...]) -> dict:
    """Database per service: the connections this process may have, and no others.

    A service process (`serve <app>`) keeps only its own database; the edge's `default` becomes
    Django's dummy backend, which refuses every query. The edge keeps `default` and the apps
    still in the monolith: an extracted app's alias is gone, so a query to it fails.
    """
    if serves:
        kept = {alias: config for alias, config in databases.items() if alias in serves}
        return {"default": {}, **kept}
    return {alias: config for alias, config in databases.items() if not phase.is_remote(alias)}


# A call that waits on a payment provider gets the provider's whole retry budget on top.
GRPC_PROVIDER_DEADLINE_SECONDS = env.float(
    "GRPC_PROVIDER_DEADLINE_SECONDS",
    default=(STRIPE_MAX_NETWORK_RETRIES + 1) * STRIPE_TIMEOUT + 5,
)
