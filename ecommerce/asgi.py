"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE", f"settings.{os.environ.get('ECOMMERCE_MODE', 'embedded')}"
)
application = get_asgi_application()
