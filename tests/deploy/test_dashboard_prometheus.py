"""The dashboard's queries against a real Prometheus scraping a real edge: each is accepted, and
those on the edge's own metrics return series (the edge shadows the catalogue and cuts it over
at 50 %, a real `serve product` beside it, so the parallel run's panels have series too). Runs
where a `prometheus` binary is installed; where postgres_exporter and redis_exporter are
installed too, they run against the test database and Redis, and the backing-service panels on
them must return series as well."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from ecommerce.wiring import resolver
from tests.deploy.compose import DOCKER
from tests.fixtures.processes import stop
from tests.phases.conftest import start_service  # noqa: F401  (a fixture)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("prometheus"), reason="no prometheus binary"),
]
# Queries on what every edge exports once it has served a catalogue page.
EDGE_SERIES = (
    "django_http_requests_total_by_view_transport_method_total",
    "django_http_requests_latency_seconds_by_view_method_bucket",
    "django_http_responses_total_by_status_total",
    "catalogue_cache_lookups_total",
    "port_call_duration_seconds_bucket",
    "shadow_calls_total",
    "cutover_calls_total",
)
# The exporters' binaries as upstream names them, or as Debian packages them.
EXPORTER_BINARIES = {
    "postgres": ("postgres_exporter", "prometheus-postgres-exporter"),
    "redis": ("redis_exporter", "prometheus-redis-exporter"),
}


def _binary(job: str) -> str | None:
    return next(filter(None, map(shutil.which, EXPORTER_BINARIES[job])), None)


def _exporter(job: str, port: int, log) -> subprocess.Popen:
    """postgres_exporter or redis_exporter on `port`, reading the test database or Redis."""
    from django.conf import settings

    from tests.fixtures.services import database_url

    address = f"127.0.0.1:{port}"
    if job == "postgres":
        dsn = database_url("default").replace("postgres://", "postgresql://", 1)
        return subprocess.Popen(
            [_binary(job), f"--web.listen-address={address}"],
            env={"DATA_SOURCE_NAME": f"{dsn}?sslmode=disable", "PATH": "/usr/bin:/bin"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    redis = settings.CACHES["default"]["LOCATION"]
    return subprocess.Popen(
        [_binary(job), "-redis.addr", redis, "-web.listen-address", address],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def prometheus(live_server, tmp_path):
    """Prometheus with phase 0's scrape config, pointed at the live edge, scraping every 0.5 s."""
    config = yaml.safe_load((DOCKER / "prometheus/prometheus.phase0.yml").read_text())
    config["global"]["scrape_interval"] = "500ms"
    config["global"]["evaluation_interval"] = "500ms"
    config["rule_files"] = [str(DOCKER / "prometheus/alerts.yml")]  # it loads the alerts too
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    jobs["web"]["static_configs"][0]["targets"] = [live_server.url.removeprefix("http://")]
    # the other processes: tests/platform/test_process_metrics
    config["scrape_configs"] = [jobs["web"]]
    exporters = []
    log = (tmp_path / "exporters.log").open("wb")
    for job in EXPORTER_BINARIES:
        if _binary(job):
            exporter_port = _free_port()
            exporters.append(_exporter(job, exporter_port, log))
            jobs[job]["static_configs"][0]["targets"] = [f"127.0.0.1:{exporter_port}"]
            config["scrape_configs"].append(jobs[job])
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    server = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(f"{base}/api/v1/status/buildinfo")
                break
            except OSError:
                assert time.monotonic() < deadline, "prometheus did not start"
                time.sleep(0.2)
        yield base
    finally:
        for process in (server, *exporters):
            stop(process)
        log.close()


def _query(base: str, expr: str) -> dict:
    expr = expr.replace("$__rate_interval", "30s")
    return _get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_every_dashboard_query_runs_on_prometheus_and_the_edges_return_series(
    prometheus,
    live_server,
    settings,
    start_service,  # noqa: F811
):
    # given: traffic on the edge, the catalogue shadowed and half cut over, scraped a few times
    start_service("product", phase="0")
    settings.SHADOW, settings.CUTOVER = ("product",), {"product": 50}
    resolver.reset()
    dashboard = json.loads((DOCKER / "grafana/dashboards/ecommerce.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    deadline = time.monotonic() + 30
    answered: dict[str, dict] = {}
    while True:
        for _ in range(3):
            urllib.request.urlopen(f"{live_server.url}/api/products", timeout=5).read()
        # when
        answered = {expr: _query(prometheus, expr) for expr in queries}
        edge = [e for e in queries if any(name in e for name in EDGE_SERIES)]
        edge += [
            e for e in queries if any(f'job="{j}"' in e for j in EXPORTER_BINARIES if _binary(j))
        ]
        if all(answered[e]["data"]["result"] for e in edge) or time.monotonic() > deadline:
            break
        time.sleep(1)
    rules = _get(f"{prometheus}/api/v1/rules")["data"]["groups"]
    # then
    assert {rule["name"] for group in rules for rule in group["rules"]} >= {
        "TargetDown",
        "SagasStuck",
    }
    for expr, answer in answered.items():
        assert answer["status"] == "success", expr
    assert edge
    for expr in edge:
        assert answered[expr]["data"]["result"], expr
