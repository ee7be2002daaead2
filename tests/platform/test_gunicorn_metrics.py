"""gunicorn's workers share their metrics: one scrape of /metrics, whichever worker answers it,
sums what every worker counted (prometheus_client's multiprocess mode, gunicorn.conf.py)."""

from __future__ import annotations

import glob
import os
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.fixtures.metrics import scrape, value
from tests.fixtures.web import Gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]
SERIES = "django_http_requests_total_by_view_transport_method_total"


def _healthz_count(families_or_metrics) -> float:
    return value(families_or_metrics, SERIES, view="healthz", method="GET")


def _counted_by(pid: int) -> float:
    """What one worker alone counted, read from its own file in the multiprocess directory."""
    pattern = os.path.join(tempfile.gettempdir(), "prometheus-web-*", f"counter_{pid}.db")
    (path,) = glob.glob(pattern)
    metrics = MultiProcessCollector.merge([path], accumulate=True)
    return _healthz_count({m.name: m.samples for m in metrics})


def test_one_scrape_sums_the_requests_every_worker_served(tmp_path):
    # given: two workers, kept busy at once so that both serve
    web = Gunicorn(tmp_path, workers=2).wait_ready()
    try:
        before = _healthz_count(scrape(web.port))

        def hit(_):
            urllib.request.urlopen(f"{web.url}/healthz", timeout=10).read()

        # when: batches of concurrent requests until both workers have served some (the kernel
        # may hand one sync worker every connection of a short batch on a busy machine)
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            for _ in range(25):
                list(pool.map(hit, range(80)))
                sent += 80
                per_worker = {pid: _counted_by(pid) for pid in web.worker_pids()}
                if len(per_worker) == 2 and all(count > 0 for count in per_worker.values()):
                    break
        scrapes = [_healthz_count(scrape(web.port)) for _ in range(6)]
    finally:
        web.stop()
    # then: each worker served some, and every scrape, by either worker, shows them all
    assert len(per_worker) == 2
    assert all(count > 0 for count in per_worker.values()), per_worker
    assert sum(per_worker.values()) == before + sent
    assert set(scrapes) == {before + sent}


def test_the_multiprocess_directory_goes_with_the_server(tmp_path):
    web = Gunicorn(tmp_path, workers=1).wait_ready()
    pids = web.worker_pids()
    (pid,) = pids
    pattern = os.path.join(tempfile.gettempdir(), "prometheus-web-*", f"*_{pid}.db")
    scrape(web.port)
    assert glob.glob(pattern)
    web.stop()
    assert not glob.glob(pattern)
