"""Production: services mode, and every secret must come from the environment."""

from django.core.exceptions import ImproperlyConfigured

from settings.services import *  # noqa: F403
from settings.services import ECOMMERCE_PHASE, GRPC_TLS_SETTINGS, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
DATABASE_URL = env.str("DATABASE_URL")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET")
KAFKA_BOOTSTRAP_SERVERS = env.str("KAFKA_BOOTSTRAP_SERVERS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# HTTPS only: plain HTTP is redirected (off where a proxy in front already does it), except the
# probes and the scrape that reach a pod by its address.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# consent to browsers' preload lists (`check --deploy` asks for it); false for a domain that
# may yet serve plain HTTP somewhere
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SERVICE_TOKEN = env.str("SERVICE_TOKEN")

# From phase 1 on, services call each other over mutual TLS only: a process without its
# certificate does not start (settings.base refuses half of them in every mode).
if ECOMMERCE_PHASE.extracted:
    for _name in GRPC_TLS_SETTINGS:
        if not globals()[_name]:
            raise ImproperlyConfigured(
                f"Set the {_name} environment variable: from phase 1 on, production calls "
                "its services over mutual TLS"
            )
