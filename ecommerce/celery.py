"""The Celery app, configured from Django settings (CELERY_ namespace)."""

import os

from celery import Celery

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE", f"settings.{os.environ.get('ECOMMERCE_MODE', 'embedded')}"
)

app = Celery("ecommerce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
