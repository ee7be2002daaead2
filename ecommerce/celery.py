"""The Celery app, configured from Django settings (CELERY_ namespace)."""

import os

from celery import Celery
from celery.worker.consumer import Consumer

from ecommerce.queues import WORK_QUEUES

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE", f"settings.{os.environ.get('ECOMMERCE_MODE', 'embedded')}"
)


class DeadLetteringConsumer(Consumer):
    """Celery acks a message it cannot decode, which would lose it; reject it to the DLQ instead."""

    def on_decode_error(self, message, exc):
        from celery.worker.consumer.consumer import crit

        crit(
            "Cannot decode message, dead-lettering it: %r (content-type %r)",
            exc,
            message.content_type,
        )
        message.reject(requeue=False)


app = Celery("ecommerce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.worker_consumer = "ecommerce.celery:DeadLetteringConsumer"
app.conf.task_queues = tuple(WORK_QUEUES.values())
app.autodiscover_tasks()
