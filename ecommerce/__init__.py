"""The shell around the bounded contexts.

Only what Django and Celery look for stays at this level (apps, models, admin, urls, wsgi, asgi,
celery, management/, migrations/, templates/, static/); the rest is grouped by what it holds:
contracts/ (each service's seam), wiring/ (which adapter, database and process), transports/
(gRPC, commands, events), observability/ (metrics, traces, logs), devservers/ (local stand-ins),
api/ (the edge's REST plumbing) and console/ (the journey console).
"""

from ecommerce.celery import app as celery_app

__all__ = ["celery_app"]
