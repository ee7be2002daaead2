"""The Grafana dashboard: provisioned from the files compose mounts, every query on metric names
and labels the processes really export (the edge's /metrics, in this process's registry)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.compose import DOCKER, load

DASHBOARD = DOCKER / "grafana/dashboards/ecommerce.json"
# Labels Prometheus adds to every series it scrapes (docker/prometheus/*.yml).
TARGET_LABELS = {"job", "instance", "process"}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
_KEYWORDS |= {"unless", "offset", "inf", "nan"}
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


# The backing services' series come from their exporters (docker/prometheus: one job each);
# a query on them selects its job. The metric-name prefix of each exporter's series.
EXPORTER_PREFIXES = {"postgres": "pg_", "redis": "redis_", "rabbitmq": "rabbitmq_"}


def _queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def exporter_job(expr: str) -> str | None:
    """The exporter job a query selects (`{job="redis"}`), if any."""
    jobs = set(re.findall(r'job="([\w-]+)"', expr)) & EXPORTER_PREFIXES.keys()
    assert len(jobs) <= 1, expr
    return next(iter(jobs), None)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, keywords or labels)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    found = re.findall(rf"(?<![\w:.$])({_NAME})\s*(\(?)", text)
    return {name for name, call in found if not call and name not in _KEYWORDS}


def label_names(expr: str) -> set[str]:
    """Labels an expression matches on or groups by."""
    labels: set[str] = set()
    for body in re.findall(r"\{([^}]*)\}", expr):
        labels.update(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", body))
    for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        labels.update(label.strip() for label in group.split(",") if label.strip())
    return labels


def test_the_query_reader_finds_metrics_and_labels():
    expr = (
        'histogram_quantile(0.95, sum by (le, view) (rate(django_x_bucket{job="web", '
        'view=~"a.*"}[$__rate_interval]))) / on (view) sum(up) > bool 0'
    )
    assert metric_names(expr) == {"django_x_bucket", "up"}
    assert label_names(expr) == {"le", "view", "job"}


def _scrape_time_families():
    """What the processes add at scrape time: the order worker's saga counts, a relay's outbox
    backlog, a worker's dead-letter depths; read here from the test databases and broker."""
    from apps.order import metrics as saga_metrics
    from ecommerce.transports import dead_letters, relay

    return [
        *saga_metrics.unfinished_families(),
        *relay.backlog_families("order"),
        *dead_letters.depth_families(["order", "cart"]),
    ]


@pytest.fixture
def exported(client, django_db_blocker) -> dict[str, set[str]]:
    """Every series name the edge's /metrics exposes, with its labels, after a request and a query;
    the modules of the gRPC server, the catalogue cache, the saga, the relay, the consumer and
    the Stripe client loaded, as in the processes that run them, and the scrape-time families
    those processes add."""
    import apps.analytics.consumer  # noqa: F401
    import apps.order.metrics  # noqa: F401
    import apps.payment.stripe_gateway  # noqa: F401
    import apps.product.cache  # noqa: F401
    import ecommerce.transports.grpc.server  # noqa: F401
    import ecommerce.transports.messaging  # noqa: F401
    import ecommerce.transports.relay  # noqa: F401
    import ecommerce.wiring.cutover  # noqa: F401
    import ecommerce.wiring.shadow  # noqa: F401

    with django_db_blocker.unblock():
        from django.db import connections

        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    client.get("/healthz")
    body = client.get("/metrics").content.decode()
    with django_db_blocker.unblock():
        from prometheus_client import CollectorRegistry, generate_latest

        class Extra:
            def collect(self):
                return _scrape_time_families()

        extra = CollectorRegistry()
        extra.register(Extra())
        body += generate_latest(extra).decode()
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(body):
        # A labelled metric with no sample yet has no series: its labels come from its collector.
        collector = REGISTRY._names_to_collectors.get(family.name) or (
            REGISTRY._names_to_collectors.get(f"{family.name}_total")
        )
        declared = set(getattr(collector, "_labelnames", ()))
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        for suffix in suffixes.get(family.type, [""]):
            names[family.name + suffix] = declared | ({"le"} if suffix == "_bucket" else set())
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


@pytest.mark.django_db(databases="__all__")
def test_every_query_uses_metrics_the_processes_export(exported):
    for expr in _queries():
        if exporter_job(expr):
            continue  # test_the_backing_service_panels_read_their_exporters
        names = metric_names(expr)
        assert names, expr
        missing = names - exported.keys()
        assert not missing, f"{sorted(missing)} in {expr}"
        known = set().union(*(exported[name] for name in names)) | TARGET_LABELS
        assert label_names(expr) <= known, f"{sorted(label_names(expr) - known)} in {expr}"


@pytest.mark.django_db(databases="__all__")
def test_the_dashboard_shows_requests_cache_grpc_sagas_outbox_consumer_and_parallel_run(exported):
    used = set().union(*(metric_names(expr) for expr in _queries()))
    for needed in (
        "django_http_requests_total_by_view_transport_method_total",
        "django_http_requests_latency_seconds_by_view_method_bucket",
        "catalogue_cache_lookups_total",
        "grpc_server_handling_seconds_count",
        "grpc_client_handling_seconds_count",
        "saga_started_total",
        "saga_completed_total",
        "saga_failed_total",
        "saga_step_duration_seconds_bucket",
        "saga_compensation_duration_seconds_bucket",
        "saga_stuck",
        "outbox_backlog",
        "outbox_oldest_unpublished_age_seconds",
        "outbox_relay_published_total",
        "analytics_consumer_lag",
        "analytics_events_processed_total",
        "analytics_events_dead_lettered_total",
        "dead_letter_queue_messages",
        "stripe_request_duration_seconds_bucket",
        "port_call_duration_seconds_bucket",
        "shadow_calls_total",
        "shadow_mismatches_total",
        "shadow_errors_total",
        "shadow_dropped_total",
        "cutover_calls_total",
        "pg_stat_activity_count",
        "redis_memory_used_bytes",
        "rabbitmq_queue_messages_ready",
    ):
        assert needed in used


def test_the_per_hop_panel_splits_port_calls_by_transport():
    # given
    from ecommerce.wiring import resolver

    per_hop = [e for e in _queries() if "port_call_duration_seconds_bucket" in metric_names(e)]
    # then: the labels the resolver records, in-process and gRPC side by side
    assert per_hop
    for expr in per_hop:
        assert {"service", "transport"} <= label_names(expr), expr
    assert resolver.PORT_CALL_DURATION._labelnames == ("service", "method", "transport")


def test_the_backing_service_panels_read_their_exporters():
    # given: every phase's scrape config
    from tests.deploy.procfile import PHASES
    from tests.deploy.test_prometheus import _config

    scraped = [{job["job_name"] for job in _config(phase)["scrape_configs"]} for phase in PHASES]
    used = set()
    for expr in _queries():
        job = exporter_job(expr)
        if job is None:
            continue
        used.add(job)
        # then: only that exporter's series, from a job every phase scrapes
        assert all(name.startswith(EXPORTER_PREFIXES[job]) for name in metric_names(expr)), expr
        assert all(job in jobs for jobs in scraped), expr
    assert used == set(EXPORTER_PREFIXES)


def test_grafana_provisions_the_datasource_and_dashboards_the_panels_use():
    # given
    datasources = yaml.safe_load(
        (DOCKER / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    )["datasources"]
    (jaeger,) = yaml.safe_load(
        (DOCKER / "grafana/provisioning/datasources/jaeger.yaml").read_text()
    )["datasources"]
    providers = yaml.safe_load(
        (DOCKER / "grafana/provisioning/dashboards/ecommerce.yaml").read_text()
    )["providers"]
    grafana = load(DOCKER / "compose.infra.yaml")["services"]["grafana"]
    dashboard = json.loads(DASHBOARD.read_text())
    # then
    uids = {source["uid"] for source in datasources}
    assert datasources[0]["url"] == "http://prometheus:9090"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] in uids
        assert all(target["datasource"]["uid"] in uids for target in panel["targets"])
    mounts = dict(volume.rsplit(":", 1)[0].split(":", 1) for volume in grafana["volumes"])
    assert mounts["./grafana/dashboards"] == providers[0]["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{providers[0]['options']['path']}/{DASHBOARD.name}"
    # traces: Jaeger's query service, in the compose file that Grafana runs in
    assert jaeger["type"] == "jaeger"
    assert jaeger["url"] == "http://jaeger:16686"
    assert "jaeger" in load(DOCKER / "compose.infra.yaml")["services"]
