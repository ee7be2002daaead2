"""Prometheus: each phase's scrape config parses and scrapes every process that serves /metrics."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from django.conf import settings

from tests.deploy.compose import DOCKER, phase_model
from tests.deploy.procfile import PHASES, processes, serves

WEB_PORT = 8000


def _config(phase: int) -> dict:
    return yaml.safe_load((DOCKER / f"prometheus/prometheus.phase{phase}.yml").read_text())


def _metrics_endpoints(phase: int) -> dict[str, str]:
    """Process name -> host:port of its /metrics: the web process and every `serve <app>`."""
    endpoints = {"web": f"web:{WEB_PORT}"}
    for name, process in processes(phase).items():
        if serves(process):
            endpoints[name] = f"{name}:{settings.SERVICE_HTTP_PORTS[serves(process)]}"
    return endpoints


@pytest.mark.parametrize("phase", PHASES)
def test_scrape_config_parses_and_scrapes_every_process_with_metrics(phase):
    # given
    config = _config(phase)
    jobs = config["scrape_configs"]
    # when
    scraped = {}
    for job in jobs:
        assert job.get("metrics_path", "/metrics") == "/metrics", job["job_name"]
        for static in job["static_configs"]:
            for target in static["targets"]:
                scraped[static["labels"]["process"]] = target
    # then
    assert len({job["job_name"] for job in jobs}) == len(jobs)
    assert scraped == _metrics_endpoints(phase)
    assert config["global"]["external_labels"]["phase"] == str(phase)


@pytest.mark.parametrize("phase", PHASES)
def test_every_scraped_host_is_a_container_of_the_phase(phase):
    services = phase_model(phase)["services"]
    for target in _metrics_endpoints(phase).values():
        assert target.split(":")[0] in services


def test_the_web_process_serves_metrics_where_prometheus_looks(client):
    # given: the URL the edge answers /metrics on (django-prometheus)
    # when
    response = client.get("/metrics")
    # then
    assert response.status_code == 200
    assert b"django_http_requests_before_middlewares_total" in response.content


@pytest.mark.skipif(not shutil.which("promtool"), reason="no promtool")
def test_promtool_accepts_the_scrape_configs_and_the_dashboard_queries(tmp_path):
    # given: each dashboard query as a recording rule, so promtool parses its PromQL
    dashboard = json.loads((DOCKER / "grafana/dashboards/ecommerce.json").read_text())
    rules = [
        {
            "record": f"dashboard:panel{panel['id']}:{target['refId'].lower()}",
            "expr": target["expr"].replace("$__rate_interval", "1m"),
        }
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]
    rules_file = tmp_path / "dashboard.rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    configs = [str(DOCKER / f"prometheus/prometheus.phase{phase}.yml") for phase in PHASES]
    # when
    checked = [
        subprocess.run(
            ["promtool", "check", "config", "--syntax-only", *configs],
            capture_output=True,
            text=True,
        ),
        subprocess.run(
            ["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True
        ),
    ]
    # then
    for done in checked:
        assert done.returncode == 0, done.stdout + done.stderr
