"""gunicorn's configuration, read from the working directory by every `gunicorn` the platform
runs (Procfiles, compose, Kubernetes, benchmarks): metrics in prometheus_client's multiprocess
mode, so one scrape of /metrics sees every worker (ecommerce/observability/metrics.py)."""

from ecommerce.observability import metrics

# Before any worker imports prometheus_client: a fresh directory for this server's workers.
metrics.multiprocess_prepare("web")


def child_exit(server, worker):
    metrics.mark_process_dead(worker.pid)


def on_exit(server):
    metrics.multiprocess_cleanup()
