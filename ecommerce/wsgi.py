"""WSGI entry point for gunicorn.

gunicorn (without --preload) imports this module in each worker after forking it: the
worker's tracing starts here, before the handler loads its middleware.
"""

import os

import django
from django.core.wsgi import get_wsgi_application

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE", f"settings.{os.environ.get('ECOMMERCE_MODE', 'embedded')}"
)
django.setup(set_prefix=False)

from ecommerce.observability import tracing  # noqa: E402  (needs the settings)

tracing.setup("edge", web=True)
application = get_wsgi_application()
