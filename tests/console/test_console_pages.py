"""The console's server side: its pages render in every phase and its topology follows the
phase definitions."""

import re
import socket

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from apps.order import checkout_saga
from ecommerce.console import figures, graph, views
from ecommerce.models import CutoverShare
from ecommerce.wiring import cutover
from phases import parse

pytestmark = pytest.mark.django_db(databases="__all__")


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("number", [0, 1, 2, 3])
def test_the_topology_has_one_process_per_extracted_app_and_grpc_across_processes(number):
    phase = parse(number)
    topology = graph.build(phase)
    names = [p.name for p in topology.processes]
    assert names[0] == "monolith"
    assert set(names[1:]) == set(phase.extracted) | {
        f"monolith-{a}" for a in phase.monolith_endpoints()
    }
    for call in topology.calls:
        apart = topology.apps[call.caller].process != topology.apps[call.callee].process
        assert call.kind == ("gRPC" if apart else "in-process"), call
    assert {(c.caller, c.callee) for c in topology.calls} >= {
        ("edge", "cart"),
        ("order", "payment"),
        ("cart", "product"),
    }
    svg = graph.svg(topology)
    for name in names:
        assert f'id="process-{name}"' in svg


def test_the_saga_steps_the_timeline_knows_are_the_sagas_own():
    assert views.FORWARD_STEPS == checkout_saga.FORWARD
    assert views.COMPENSATIONS == checkout_saga.COMPENSATION


def test_the_root_page_draws_the_current_phase(client, settings):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and 'id="process-monolith"' in body
    assert f'data-phase="{settings.ECOMMERCE_PHASE.name}"' in body


def test_each_process_names_its_workers_metrics_where_the_worker_serves_them(client, settings):
    # given
    settings.ECOMMERCE_PHASE = parse(3)
    ports = settings.METRICS_PORTS
    # when
    topology = graph.build(settings.ECOMMERCE_PHASE)
    # then: the monolith's worker on `worker`'s port, `serve <app>`'s on `<app>-worker`'s
    urls = {p.name: p.worker_metrics_url for p in topology.processes}
    assert urls["monolith"].endswith(f":{ports['worker']}/metrics")
    for app in ("product", "cart", "order", "payment"):
        assert urls[app].endswith(f":{ports[f'{app}-worker']}/metrics"), app
    assert 'class="worker-metrics"' in client.get("/").content.decode()


def test_a_stopped_service_is_reported_down_and_the_page_still_renders(client, settings):
    settings.ECOMMERCE_PHASE = parse(3)
    settings.SERVICE_HTTP_PORTS = {app: _unused_port() for app in settings.SERVICE_HTTP_PORTS}
    assert client.get("/").status_code == 200
    health = client.get("/console/health.json").json()["processes"]
    assert health["monolith"]["state"] == "up"
    for app in ("product", "cart", "order", "payment"):
        assert health[app]["state"] == "down", health[app]


def test_the_console_pages_render_and_the_api_pages_still_do(client, settings):
    for path in ("/console/shop/", "/console/orders/", "/console/orders/7/", "/api/docs/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/api/schema/").status_code == 200
    topology = client.get("/console/topology.json").json()
    assert topology["phase"] == settings.ECOMMERCE_PHASE.name


def test_the_figures_come_from_the_metrics(client, settings):
    before = client.get("/console/metrics.json").json()["processes"]["monolith"]
    client.get("/api/products")
    client.get("/api/products")
    after = client.get("/console/metrics.json").json()["processes"]["monolith"]
    assert after["http_requests"] >= before["http_requests"] + 3
    listed = [v for v in after["views"] if v["view"] == "product-list"]
    assert listed and listed[0]["count"] >= 2 and listed[0]["mean_ms"] > 0
    assert after["catalogue_cache"]["hit_ratio"] is not None
    assert client.get("/console/costs/").status_code == 200


def test_a_process_whose_metrics_do_not_answer_is_reported_down(client, settings):
    settings.ECOMMERCE_PHASE = parse(3)
    settings.SERVICE_HTTP_PORTS = {app: _unused_port() for app in settings.SERVICE_HTTP_PORTS}
    figures = client.get("/console/metrics.json").json()["processes"]
    assert figures["cart"] == {"down": True}
    assert "http_requests" in figures["monolith"]


@pytest.mark.parametrize(
    "name", ["journey", "phase0", "phase1", "phase2", "phase3", "parallel-run"]
)
def test_the_journey_and_phase_pages_are_rendered(client, name):
    response = client.get(f"/console/docs/{name}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<article class="doc" id="doc"><h1' in body
    assert "/console/docs/" + name in client.get("/").content.decode() or name == "journey"


def test_links_between_the_pages_lead_to_their_console_pages(client):
    # given: the journey links each phase's page, and the phases link back to a section of it
    journey = client.get("/console/docs/journey/").content.decode()
    phase1 = client.get("/console/docs/phase1/").content.decode()
    # then
    links = set(re.findall(r'href="([^"]+)"', journey + phase1))
    assert {f"/console/docs/phase{n}/" for n in range(4)} <= links
    assert "/console/docs/journey/#what-each-phase-costs" in links
    assert 'id="what-each-phase-costs"' in journey
    assert not [link for link in links if link.endswith(".md") or ".md#" in link]
    for link in {link.split("#")[0] for link in links if link.startswith("/console/docs/")}:
        assert client.get(link).status_code == 200, link


def test_an_unknown_page_is_a_404(client):
    assert client.get("/console/docs/settings/").status_code == 404


def test_latency_quantiles_are_read_from_the_histogram_buckets():
    # given: a real histogram, scraped as Prometheus would
    registry = CollectorRegistry()
    histogram = Histogram(
        "demo_seconds", "demo", ["step"], buckets=(0.1, 0.2, 0.4), registry=registry
    )
    for seconds in (0.05,) * 5 + (0.15,) * 4 + (0.3,) * 1:
        histogram.labels("a").observe(seconds)
    samples = figures._samples(generate_latest(registry).decode())
    # when
    [row] = figures._distribution(samples, "demo_seconds", ("step",))
    # then: half of the ten in the first bucket, the 95th in the third, interpolated
    assert row["count"] == 10
    assert row["mean_ms"] == 115.0
    assert row["p50_ms"] == 100.0
    assert row["p95_ms"] == 300.0
    assert figures._quantile(0.5, []) is None


def _parallel_run_registry(*, calls, mismatches, errors, local, remote) -> CollectorRegistry:
    """One process's shadow and cut-over series, as ecommerce/wiring/shadow.py and cutover.py name them."""
    registry = CollectorRegistry()
    labels = ("service", "operation")
    for name, count in (("shadow_calls", calls), ("shadow_mismatches", mismatches)):
        Counter(name, name, labels, registry=registry).labels("product", "get").inc(count)
    Counter("shadow_errors", "e", labels, registry=registry).labels("cart", "get").inc(errors)
    Counter("shadow_dropped", "d", labels, registry=registry)
    duration = Histogram(
        "shadow_remote_duration_seconds", "r", labels, buckets=(0.01, 0.1), registry=registry
    )
    for _ in range(calls):
        duration.labels("product", "get").observe(0.005)
    routed = Counter("cutover_calls", "c", ("service", "adapter"), registry=registry)
    routed.labels("product", "local").inc(local)
    routed.labels("product", "remote").inc(remote)
    return registry


def test_the_parallel_run_figures_sum_the_shadow_and_the_cut_over_of_every_process(settings):
    # given: the edge's and the worker's counters, and the catalogue under cut-over at 25 %
    settings.CUTOVER, settings.CUTOVER_REFRESH_SECONDS = {"product": 25}, 0
    cutover.shares.forget()
    edge = _parallel_run_registry(calls=5, mismatches=1, errors=0, local=3, remote=1)
    worker = _parallel_run_registry(calls=2, mismatches=0, errors=4, local=4, remote=2)
    samples = [s for r in (edge, worker) for s in figures._samples(generate_latest(r).decode())]
    # when
    run = figures._parallel_run(samples)
    # then: per service and operation, and per service and adapter, summed
    assert run["shadow"] == [
        {"service": "cart", "operation": "get", "calls": 0, "mismatches": 0, "errors": 4,
         "dropped": 0, "remote_mean_ms": None, "remote_p95_ms": None},
        {"service": "product", "operation": "get", "calls": 7, "mismatches": 1, "errors": 0,
         "dropped": 0, "remote_mean_ms": 5.0, "remote_p95_ms": 9.5},
    ]  # fmt: skip
    assert run["cutover"] == [
        {"service": "product", "share_percent": 25, "local": 7, "remote": 3, "remote_ratio": 0.3}
    ]
    # and the share set in the admin is the one shown
    CutoverShare.objects.create(service="product", percent=60)
    assert figures._parallel_run(samples)["cutover"][0]["share_percent"] == 60
    # a service no longer under cut-over keeps its counts, without a share
    settings.CUTOVER = {}
    assert figures._parallel_run(samples)["cutover"][0]["share_percent"] is None


def test_the_costs_page_has_the_parallel_run_and_metrics_json_its_figures(client):
    assert 'id="shadow"' in client.get("/console/costs/").content.decode()
    run = client.get("/console/metrics.json").json()["parallel_run"]
    assert set(run) == {"shadow", "cutover"}
