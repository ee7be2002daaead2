"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE", f"settings.{os.environ.get('ECOMMERCE_MODE', 'embedded')}"
)
application = get_wsgi_application()
