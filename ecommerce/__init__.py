"""The shell around the bounded contexts: ports, resolver, API plumbing, Celery and observability."""

from ecommerce.celery import app as celery_app

__all__ = ["celery_app"]
