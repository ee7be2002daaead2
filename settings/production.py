"""Production: services mode, and every secret must come from the environment."""

from settings.services import *  # noqa: F403
from settings.services import env

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
SERVICE_TOKEN = env.str("SERVICE_TOKEN")
