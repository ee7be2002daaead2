"""The console's server side: its pages render in every phase and its topology follows the
phase definitions."""

import socket

import pytest

from apps.order import checkout_saga
from ecommerce.console import graph, views
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
    assert '<article class="doc" id="doc"><h1>' in body
    assert "/console/docs/" + name in client.get("/").content.decode() or name == "journey"


def test_an_unknown_page_is_a_404(client):
    assert client.get("/console/docs/settings/").status_code == 404
