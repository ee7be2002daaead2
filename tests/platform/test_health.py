"""/healthz, /readyz and /metrics: what an orchestrator and Prometheus rely on."""

from __future__ import annotations

import socket

import pytest
from django.test import override_settings

from ecommerce.celery import app as celery_app

pytestmark = pytest.mark.django_db(databases="__all__")


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_says_the_process_runs(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_200_when_every_dependency_answers(api):
    # when
    response = api.get("/readyz")
    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ready"
    assert {
        "database:default",
        "database:product",
        "database:cart",
        "database:order",
        "database:payment",
        "database:analytics",
        "cache",
        "broker",
    } <= set(body["checks"])
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_is_503_naming_the_broker_when_it_is_unreachable(api, monkeypatch):
    # given: the broker URL points at a port where nothing listens (Celery reads the
    # environment variable before its own setting)
    unreachable = f"amqp://guest:guest@127.0.0.1:{_closed_port()}//"
    monkeypatch.setenv("CELERY_BROKER_URL", unreachable)
    monkeypatch.setitem(celery_app.conf, "broker_url", unreachable)
    # when
    response = api.get("/readyz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]
    assert [name for name, check in body["checks"].items() if not check["ok"]] == ["broker"]


def test_readyz_is_503_naming_the_cache_when_redis_is_unreachable(api, settings):
    # given
    unreachable = dict(settings.CACHES["default"], LOCATION=f"redis://127.0.0.1:{_closed_port()}/0")
    # when
    with override_settings(CACHES={"default": unreachable}):
        response = api.get("/readyz")
    # then
    assert response.status_code == 503
    failing = [name for name, check in response.json()["checks"].items() if not check["ok"]]
    assert failing == ["cache"]


def test_the_catalogue_still_answers_while_redis_is_down(api, settings):
    # given
    from tests.factories import ProductFactory

    product = ProductFactory()
    unreachable = dict(settings.CACHES["default"], LOCATION=f"redis://127.0.0.1:{_closed_port()}/0")
    # when
    with override_settings(CACHES={"default": unreachable}):
        listed = api.get("/api/products")
        detail = api.get(f"/api/products/{product.pk}")
    # then: a cache outage degrades to the database, it never fails a request
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert detail.status_code == 200


def test_metrics_exposes_django_prometheus_counters(api):
    # given
    api.get("/api/categories")
    # when
    response = api.get("/metrics")
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text
    assert (
        'django_http_responses_total_by_status_view_method_total{method="GET",status="200",view="category-list"}'
        in text
    )
    assert 'django_db_execute_total{alias="product",vendor="postgresql"}' in text
