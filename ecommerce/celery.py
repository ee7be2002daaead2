"""The Celery app, configured from Django settings (CELERY_ namespace)."""

import os

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from celery.worker.consumer import Consumer

from ecommerce.observability import metrics

if metrics.starting_celery_worker():
    # Before anything imports prometheus_client (Django's setup does, through django-prometheus).
    metrics.multiprocess_prepare("worker")

from ecommerce.transports.queues import WORK_QUEUES  # noqa: E402
from phases.services import SERVICES  # noqa: E402

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
# Celery's Django fixup closes every database connection around every task (six aliases, so six
# reconnects a task) unless reuse is allowed; then Django's own rule applies, as for a request:
# a connection is closed when unusable or older than CONN_MAX_AGE.
app.conf.CELERY_DB_REUSE_MAX = 2**31


@task_prerun.connect
@task_postrun.connect
def _recycle_connections(**kwargs) -> None:
    from django.db import close_old_connections

    close_old_connections()


@worker_process_init.connect
def _start_tracing(**kwargs) -> None:
    """Each pool process traces on its own: exporter threads do not survive a fork."""
    from django.conf import settings

    from ecommerce.observability import tracing

    serves = settings.ECOMMERCE_SERVES
    tracing.setup(f"{serves[0]}-worker" if serves else "worker")


@worker_process_shutdown.connect
def _flush_traces(**kwargs) -> None:
    from ecommerce.observability import tracing

    tracing.flush()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _log_format(logger=None, **kwargs) -> None:
    """Celery's own log lines in the format the settings choose, with the trace ids."""
    from ecommerce.observability.logging import adopt_handlers

    adopt_handlers(logger)


# Metrics: the worker's pool processes write to a multiprocess directory of the worker's own;
# the main process serves them all on METRICS_PORT (ecommerce/observability/metrics.py).


@worker_ready.connect
def _metrics_serve(sender=None, **kwargs) -> None:
    # `serve <app>` names its worker `<app>@host`: that one is `<app>-worker` in METRICS_PORTS.
    served = (getattr(sender, "hostname", None) or "").partition("@")[0]
    metrics.serve(f"{served}-worker" if served in SERVICES else "worker", announce=False)
    consumed = {q.name for q in getattr(getattr(sender, "task_consumer", None), "queues", [])}
    dead = sorted(consumed & set(WORK_QUEUES))
    if dead and app.conf.broker_url and app.conf.broker_url.startswith(("amqp", "pyamqp")):
        from ecommerce.transports import dead_letters

        metrics.add_collector(
            "dead_letters",
            metrics.ScrapeCollector(lambda: dead_letters.depth_families(dead), databases=False),
        )


@worker_process_shutdown.connect
def _metrics_process_gone(pid=None, **kwargs) -> None:
    metrics.mark_process_dead(pid or os.getpid())


@worker_shutdown.connect
def _metrics_directory_removed(**kwargs) -> None:
    metrics.multiprocess_cleanup()


app.conf.worker_consumer = "ecommerce.celery:DeadLetteringConsumer"
app.conf.task_queues = tuple(WORK_QUEUES.values())
app.autodiscover_tasks()
