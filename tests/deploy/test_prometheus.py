"""Prometheus: each phase's scrape config parses and scrapes every process that serves /metrics."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from django.conf import settings

from ecommerce.wiring import topology
from tests.deploy.compose import DOCKER, phase_model
from tests.deploy.procfile import PHASES, ROOT, processes, serves, split_command

WEB_PORT = 8000


def _config(phase: int) -> dict:
    return yaml.safe_load((DOCKER / f"prometheus/prometheus.phase{phase}.yml").read_text())


# Processes that stand in for outside systems (Kafka, Stripe) and serve no /metrics of ours.
STAND_INS = {"kafka", "stripe"}
# The backing services' metrics, every phase: job -> (container, port, path) of its exporter, or
# of RabbitMQ's own plugin (per queue).
EXPORTERS = {
    "postgres": ("postgres-exporter", 9187, "/metrics"),
    "redis": ("redis-exporter", 9121, "/metrics"),
    "rabbitmq": ("rabbitmq", 15692, "/metrics/per-object"),
}


def _metrics_endpoints(phase: int) -> dict[str, str]:
    """Process name -> host:port of its /metrics, for every process of the phase's Procfile: the
    web process, each `serve <app>` (its HTTP port) and the worker it starts, the Celery worker,
    the relays, the analytics consumer and the reconciler (their METRICS_PORTS entries)."""
    ports = settings.METRICS_PORTS
    endpoints = {}
    for name, process in processes(phase).items():
        head, _ = split_command(process.argv)
        if name in STAND_INS:
            continue
        if head[:1] == ["gunicorn"]:
            endpoints[name] = f"{name}:{WEB_PORT}"
        elif head[:1] == ["celery"] and "worker" in head:
            endpoints[name] = f"{name}:{ports['worker']}"
        elif app := serves(process):
            endpoints[name] = f"{name}:{settings.SERVICE_HTTP_PORTS[app]}"
            endpoints[f"{name}-worker"] = f"{name}:{ports[f'{app}-worker']}"
        elif head[:3] == ["python", "manage.py", "relay_outbox"]:
            endpoints[name] = f"{name}:{ports[f'relay-{head[3]}']}"
        elif head[:3] == ["python", "manage.py", "consume_analytics"]:
            endpoints[name] = f"{name}:{ports['analytics']}"
        elif head[:3] == ["python", "manage.py", "reconcile_payments"]:
            endpoints[name] = f"{name}:{ports['reconcile-payments']}"
        else:
            raise AssertionError(f"phase {phase}: {name} serves no /metrics and is no stand-in")
    return endpoints


@pytest.mark.parametrize("phase", PHASES)
def test_every_process_of_ours_is_scraped_with_its_own_port(phase):
    endpoints = _metrics_endpoints(phase)
    assert set(processes(phase)) - STAND_INS <= set(endpoints)
    per_host: dict[str, list[str]] = {}
    for target in endpoints.values():
        host, _, port = target.partition(":")
        per_host.setdefault(host, []).append(port)
    for host, ports in per_host.items():
        assert len(ports) == len(set(ports)), host
    every_port = [int(target.rsplit(":", 1)[1]) for target in endpoints.values()]
    # `make run` puts every process on 127.0.0.1: no two may share a port.
    assert len(every_port) == len(set(every_port))


@pytest.mark.parametrize("phase", PHASES)
def test_scrape_config_parses_and_scrapes_every_process_with_metrics(phase):
    # given
    config = _config(phase)
    jobs = config["scrape_configs"]
    # when
    scraped = {}
    exporters = {}
    for job in jobs:
        (static,) = job["static_configs"]
        (target,) = static["targets"]
        if job["job_name"] in EXPORTERS:
            exporters[job["job_name"]] = (*target.split(":"), job["metrics_path"])
            continue
        assert job.get("metrics_path", "/metrics") == "/metrics", job["job_name"]
        scraped[static["labels"]["process"]] = target
    # then
    assert len({job["job_name"] for job in jobs}) == len(jobs)
    assert scraped == _metrics_endpoints(phase)
    assert exporters == {
        job: (host, str(port), path) for job, (host, port, path) in EXPORTERS.items()
    }
    assert config["global"]["external_labels"]["phase"] == str(phase)
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


@pytest.mark.parametrize("phase", PHASES)
def test_every_scraped_host_is_a_container_of_the_phase(phase):
    services = phase_model(phase)["services"]
    for target in _metrics_endpoints(phase).values():
        assert target.split(":")[0] in services
    for host, _, _ in EXPORTERS.values():
        assert host in services


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


@pytest.mark.parametrize("phase", PHASES)
def test_make_run_prints_the_metrics_url_of_every_scraped_process(phase):
    # given: what run_platform prints beside the topology
    procfile = (ROOT / f"phases/Procfile.phase{phase}").read_text()
    # when
    printed = dict(topology.metrics_endpoints(procfile, edge_port=WEB_PORT))
    # then: the same processes and ports as the scrape config
    scraped = _metrics_endpoints(phase)
    assert printed == {name: int(target.rsplit(":", 1)[1]) for name, target in scraped.items()}


def test_the_cluster_scrape_config_reads_the_annotations_the_serve_workers_and_rabbitmq():
    # given: the scrape config for a Prometheus in the cluster, and the manifests it scrapes
    from tests.deploy.kustomize import render

    config = yaml.safe_load((DOCKER / "prometheus/prometheus.k8s.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    documents = render(DOCKER / "k8s/overlays/phase3")
    port_names = {
        port["name"]
        for doc in documents
        if doc["kind"] == "Deployment"
        for container in doc["spec"]["template"]["spec"]["containers"]
        for port in container.get("ports", [])
    }
    namespace = {doc["metadata"].get("namespace") for doc in documents}
    # then: the pods of the overlays' namespace, by their annotations and their worker port
    for name in ("pods", "serve-workers"):
        (discovery,) = jobs[name]["kubernetes_sd_configs"]
        assert discovery["role"] == "pod"
        assert set(discovery["namespaces"]["names"]) == namespace
    keep = {r["source_labels"][0]: r for r in jobs["pods"]["relabel_configs"]}
    assert keep["__meta_kubernetes_pod_annotation_prometheus_io_scrape"]["regex"] == "true"
    (worker_port,) = [
        r["regex"] for r in jobs["serve-workers"]["relabel_configs"] if r.get("action") == "keep"
    ]
    assert worker_port in port_names
    host, port, path = EXPORTERS["rabbitmq"]
    assert jobs["rabbitmq"]["metrics_path"] == path
    assert jobs["rabbitmq"]["static_configs"][0]["targets"] == [f"{host}:{port}"]
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def _promtool_has_kubernetes_discovery(tmp_path) -> bool:
    """Debian builds Prometheus without Kubernetes service discovery."""
    probe = tmp_path / "kubernetes-probe.yml"
    probe.write_text(
        yaml.safe_dump(
            {"scrape_configs": [{"job_name": "p", "kubernetes_sd_configs": [{"role": "pod"}]}]}
        )
    )
    done = subprocess.run(
        ["promtool", "check", "config", "--syntax-only", str(probe)], capture_output=True
    )
    return done.returncode == 0


@pytest.mark.skipif(not shutil.which("promtool"), reason="no promtool")
def test_promtool_accepts_the_cluster_scrape_config(tmp_path):
    if not _promtool_has_kubernetes_discovery(tmp_path):
        pytest.skip("this promtool is built without Kubernetes service discovery")
    done = subprocess.run(
        [
            "promtool",
            "check",
            "config",
            "--syntax-only",
            str(DOCKER / "prometheus/prometheus.k8s.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
