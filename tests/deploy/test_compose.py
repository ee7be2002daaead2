"""The compose files: valid compose, and for each phase exactly its Procfile's processes, run with
the commands, environment, health checks and start order that the settings and code expect."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
from django.conf import settings

from phases import NAMED
from tests.deploy.compose import DOCKER, app_services, compose_files, environment, load, phase_model
from tests.deploy.environment import names_read
from tests.deploy.procfile import PHASES, processes, serves, split_command
from tests.deploy.settings_probe import settings_for

# The compose specification's JSON schema (compose-spec/compose-go's `compose-spec.json`), as
# shipped in the npm package dclint 3.1.0 at schemas/compose.schema.json.
SCHEMA = json.loads((Path(__file__).parent / "schemas/compose-spec.json").read_text())
# Options whose value says where something lives (an address, a file): the Procfile's are for one
# machine, the containers' for their network and volumes. Both must give them.
PLACE_OPTIONS = {"--bind", "--schedule", "--webhook-url", "--state-file"}
# Options a container adds: the local Stripe server listens beyond its own loopback.
ADDED_OPTIONS = {"python -m stripe_local": {"--host"}}
# The Procfile's `kafka` process (the embedded broker) is a real Kafka in compose.
BROKER = "kafka"
ONE_SHOT = "migrate"


def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(SCHEMA)


def _processes(model: dict) -> dict[str, dict]:
    return {name: svc for name, svc in app_services(model).items() if name != ONE_SHOT}


@pytest.mark.parametrize("path", compose_files(), ids=lambda p: p.name)
def test_compose_file_is_valid_against_the_compose_spec(path):
    # given
    document = load(path)
    # when
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    # then
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_compose_schema_rejects_what_compose_refuses():
    # given: a start condition compose does not know, and a misspelt health check key
    document = {
        "services": {
            "web": {"image": "x", "depends_on": {"db": {"condition": "when_ready"}}},
            "db": {"image": "y", "healthcheck": {"tset": ["CMD", "true"]}},
        }
    }
    # when
    errors = list(_validator().iter_errors(document))
    # then
    assert len(errors) == 2


def test_there_is_a_compose_file_per_phase():
    assert {f"compose.phase{n}.yaml" for n in PHASES} <= {p.name for p in compose_files()}


@pytest.mark.parametrize("phase", PHASES)
def test_phase_runs_exactly_the_processes_of_its_procfile(phase):
    # given
    model = phase_model(phase)
    # when
    running = set(_processes(model)) | ({BROKER} & set(model["services"]))
    # then
    assert running == set(processes(phase))
    assert BROKER not in app_services(model)
    assert model["services"][BROKER]["image"].startswith("apache/kafka:")


@pytest.mark.parametrize("phase", PHASES)
def test_each_process_runs_its_procfile_command(phase):
    # given
    model = phase_model(phase)
    for name, svc in _processes(model).items():
        expected_head, expected = split_command(processes(phase)[name].argv)
        # when
        head, options = split_command(svc["command"])
        # then
        assert head == expected_head, name
        added = ADDED_OPTIONS.get(" ".join(head), set())
        assert options.keys() - added == expected.keys(), name
        for option, value in expected.items():
            if option not in PLACE_OPTIONS:
                assert options[option] == value, (name, option)


@pytest.mark.parametrize("phase", PHASES)
def test_each_process_has_its_procfile_environment_and_the_phase(phase):
    model = phase_model(phase)
    for name, svc in app_services(model).items():
        env = environment(svc)
        assert env["ECOMMERCE_MODE"] == "services", name
        assert env["PHASE"] == str(phase), name
        if name in processes(phase):
            for key, value in processes(phase)[name].env.items():
                assert env.get(key) == value, (name, key)
            # `serve <app>` says it serves the app itself; a relay or a command says so here.
            app = serves(processes(phase)[name])
            expected = processes(phase)[name].env.get("ECOMMERCE_SERVES", app)
            assert env.get("ECOMMERCE_SERVES") == expected, name
            if app:
                assert env["SERVICE_HOST"] == "0.0.0.0", name


@pytest.mark.parametrize("phase", PHASES)
def test_grpc_targets_name_the_containers_that_serve_them(phase):
    # given
    model = phase_model(phase)
    served_by = {
        serves(process): name for name, process in processes(phase).items() if serves(process)
    }
    for name, svc in app_services(model).items():
        env = environment(svc)
        targets = {key: val for key, val in env.items() if key.endswith("_GRPC_TARGET")}
        # then: every service the phase runs is dialled where it listens, and nothing else
        assert set(targets) == {f"{app.upper()}_GRPC_TARGET" for app in served_by}, name
        for app, container in served_by.items():
            assert targets[f"{app.upper()}_GRPC_TARGET"] == (
                f"{container}:{settings.GRPC_PORTS[app]}"
            ), name


@pytest.mark.parametrize("phase", PHASES)
def test_every_extracted_service_has_its_own_database(phase):
    # given
    model = phase_model(phase)
    init_sql = (DOCKER / "postgres/init-databases.sql").read_text()
    postgres = model["services"]["postgres"]
    created = set(re.findall(r"CREATE DATABASE (\w+)", init_sql)) | {
        postgres["environment"]["POSTGRES_DB"]
    }
    assert any(
        v.endswith(":/docker-entrypoint-initdb.d/10-databases.sql:ro") for v in postgres["volumes"]
    )
    for name, svc in app_services(model).items():
        env = environment(svc)
        urls = {key: val for key, val in env.items() if key.endswith("DATABASE_URL")}
        # then: one URL per extracted alias, each a database the init script creates
        expected = {"DATABASE_URL"} | {f"{a.upper()}_DATABASE_URL" for a in NAMED[phase]}
        assert set(urls) == expected, name
        for key, url in urls.items():
            parts = urlsplit(url)
            assert parts.hostname == "postgres", (name, key)
            assert parts.path.lstrip("/") in created, (name, key)


@pytest.mark.parametrize("phase", PHASES)
def test_the_settings_built_from_each_container_give_it_its_own_databases(phase, tmp_path):
    # given: the distinct environments of the phase (the edge's, each service's)
    model = phase_model(phase)
    seen: dict[str, dict] = {}
    for svc in app_services(model).values():
        env = environment(svc)
        seen.setdefault(env.get("ECOMMERCE_SERVES", ""), env)
    for serving, env in seen.items():
        # when
        built = settings_for(env, tmp_path)
        # then
        assert built["extracted"] == sorted(NAMED[phase])
        assert built["broker"] == env["CELERY_BROKER_URL"]
        assert built["kafka"] == "kafka:9092"
        if serving:
            assert set(built["databases"]) == {"default", serving}
            assert built["databases"]["default"] is None  # the refusing dummy backend
            if serving in NAMED[phase]:
                assert built["databases"][serving] == f"ecommerce_{serving}"
            else:  # phase 1's catalogue endpoint: the monolith's database, its own schema
                assert built["databases"][serving] == "ecommerce"
                assert built["schemas"][serving] == serving
        else:
            local = {a for a in settings.SERVICE_ALIASES if a not in NAMED[phase]}
            assert set(built["databases"]) == {"default"} | local


@pytest.mark.parametrize("phase", PHASES)
def test_every_variable_set_for_a_process_is_one_the_code_reads(phase):
    model = phase_model(phase)
    for name, svc in app_services(model).items():
        unknown = set(environment(svc)) - names_read()
        assert not unknown, f"{name}: {sorted(unknown)}"


def _probe(svc: dict) -> dict:
    return svc.get("healthcheck") or {}


@pytest.mark.parametrize("phase", PHASES)
def test_processes_start_in_order_and_only_after_what_they_need_is_healthy(phase):
    # given
    model = phase_model(phase)
    services = model["services"]
    serving = [name for name, p in processes(phase).items() if serves(p)]
    for name, svc in services.items():
        for dependency, rule in (svc.get("depends_on") or {}).items():
            # then: a dependency exists, and "healthy" is only awaited where a check says so
            assert dependency in services, (name, dependency)
            target = services[dependency]
            if dependency == ONE_SHOT:
                assert rule["condition"] == "service_completed_successfully", name
            else:
                assert rule["condition"] == "service_healthy", (name, dependency)
                assert _probe(target).get("test") and not _probe(target).get("disable")
    migrate = services[ONE_SHOT]
    assert set(migrate["depends_on"]) == {"postgres", "redis", "rabbitmq", "kafka"}
    for name, svc in _processes(model).items():
        if name != "stripe":
            assert ONE_SHOT in svc["depends_on"], name
    assert set(serving) <= set(services["web"]["depends_on"])


@pytest.mark.parametrize("phase", PHASES)
def test_every_process_checks_its_health_where_it_serves_http(phase):
    # given
    model = phase_model(phase)
    http_ports = {"web": 8000, "stripe": 12111}
    for name, process in processes(phase).items():
        if serves(process):
            http_ports[name] = settings.SERVICE_HTTP_PORTS[serves(process)]
    for name, svc in app_services(model).items():
        probe = _probe(svc)
        assert probe, f"{name}: no healthcheck (the image's /healthz would not fit it)"
        if name in http_ports:
            # then: the check reaches the process's own port, on a health endpoint where it has one
            command = " ".join(probe["test"])
            assert f"127.0.0.1', {http_ports[name]})" in command or re.search(
                rf"127\.0\.0\.1:{http_ports[name]}/(healthz|readyz)", command
            ), name
        elif name != "worker":
            assert probe == {"disable": True}, name
    for backing in ("postgres", "redis", "rabbitmq", "kafka"):
        assert _probe(model["services"][backing]).get("test"), backing


@pytest.mark.parametrize("phase", PHASES)
def test_prometheus_of_the_phase_reads_the_phase_scrape_config(phase):
    volumes = phase_model(phase)["services"]["prometheus"]["volumes"]
    assert f"./prometheus/prometheus.phase{phase}.yml:/etc/prometheus/prometheus.yml:ro" in volumes


@pytest.mark.parametrize("phase", PHASES)
def test_every_image_from_elsewhere_is_pinned_to_a_version(phase):
    model = phase_model(phase)
    assert model["include"] == ["compose.infra.yaml"]
    for name, svc in model["services"].items():
        if name not in app_services(model):
            image, _, tag = svc["image"].partition(":")
            assert re.fullmatch(r"v?\d+(\.\d+)*(-[a-z]+)*", tag), (name, svc["image"])


def trace_names(process) -> tuple[str, ...]:
    """The `service.name` of a process's spans, as its entry point gives it to
    `tracing.setup` (a `serve` process's first, then the worker it starts)."""
    head, _ = split_command(process.argv)
    if head[:1] == ["gunicorn"]:
        return ("edge",)
    if head[:1] == ["celery"]:
        serving = process.env.get("ECOMMERCE_SERVES")
        return (f"{serving}-worker" if serving else "worker",)
    if app := serves(process):
        return (app, f"{app}-worker")
    if head[:3] == ["python", "manage.py", "relay_outbox"]:
        return (f"relay-{head[3]}",)
    return {
        ("python", "manage.py", "consume_analytics"): ("analytics",),
        ("python", "manage.py", "reconcile_payments"): ("reconciler",),
    }[tuple(head[:3])]


JAEGER_OTLP_PORTS = {"grpc": 4317, "http/protobuf": 4318}


@pytest.mark.parametrize("phase", PHASES)
def test_every_process_exports_its_traces_to_jaeger_under_its_own_name(phase, monkeypatch):
    # given
    from ecommerce.management.commands.serve import _worker_env
    from ecommerce.observability import tracing

    model = phase_model(phase)
    jaeger = model["services"]["jaeger"]
    seen: list[str] = []
    for name, svc in _processes(model).items():
        if name == "stripe":  # the stand-in for Stripe is not ours: it traces nothing
            continue
        env = environment(svc)
        # then: OTLP to the Jaeger container, on the port of the protocol it speaks
        protocol = env["OTEL_EXPORTER_OTLP_PROTOCOL"]
        assert protocol in tracing.PROTOCOLS, name
        endpoint = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert (endpoint.hostname, endpoint.port) == ("jaeger", JAEGER_OTLP_PORTS[protocol]), name
        # named as its code names it, and so is the worker a `serve` process starts
        expected = trace_names(processes(phase)[name])
        assert env["OTEL_SERVICE_NAME"] == expected[0], name
        seen.append(env["OTEL_SERVICE_NAME"])
        if serves(processes(phase)[name]):
            for key, value in env.items():
                monkeypatch.setenv(key, value)
            assert (
                _worker_env(serves(processes(phase)[name]), 9100)["OTEL_SERVICE_NAME"]
                == (expected[1])
            )
            seen.append(expected[1])
        # the console links an order's trace to Jaeger's UI, published on the host
        ui = urlsplit(env["JAEGER_UI_URL"])
        assert f"{ui.port}:16686" in jaeger["ports"], name
    assert len(seen) == len(set(seen)), sorted(seen)
    assert jaeger["image"].startswith("jaegertracing/")


@pytest.mark.parametrize("phase", PHASES)
def test_processes_serve_their_metrics_where_prometheus_reaches_them(phase, monkeypatch):
    # given: the address ecommerce.observability.metrics listens on, from each container's environment
    from ecommerce.observability import metrics

    model = phase_model(phase)
    for name, svc in _processes(model).items():
        if name == "stripe":
            continue
        for key in ("METRICS_HOST", "SERVICE_HOST"):
            monkeypatch.delenv(key, raising=False)
        for key, value in environment(svc).items():
            monkeypatch.setenv(key, value)
        # then: all interfaces, not the container's own loopback
        assert metrics.metrics_host() == "0.0.0.0", name


def test_the_backing_services_have_their_exporters():
    # given
    services = load(DOCKER / "compose.infra.yaml")["services"]
    postgres = services["postgres-exporter"]
    redis = services["redis-exporter"]
    rabbitmq = services["rabbitmq"]
    # then: each exporter reads the service compose runs, once that service is healthy
    dsn = urlsplit(postgres["environment"]["DATA_SOURCE_NAME"])
    assert (dsn.hostname, dsn.port, dsn.path) == ("postgres", 5432, "/ecommerce")
    assert (dsn.username, dsn.password) == (
        services["postgres"]["environment"]["POSTGRES_USER"],
        services["postgres"]["environment"]["POSTGRES_PASSWORD"],
    )
    assert postgres["image"].startswith("prometheuscommunity/postgres-exporter:")
    assert postgres["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert urlsplit(redis["environment"]["REDIS_ADDR"]).hostname == "redis"
    assert redis["image"].startswith("oliver006/redis_exporter:")
    assert redis["depends_on"] == {"redis": {"condition": "service_healthy"}}
    # RabbitMQ serves its own metrics: the plugin is enabled, beside the console
    (plugins,) = [v for v in rabbitmq["volumes"] if v.endswith(":/etc/rabbitmq/enabled_plugins:ro")]
    enabled = (DOCKER / plugins.split(":", 1)[0]).read_text()
    assert re.fullmatch(r"\[([a-z_]+,)*[a-z_]+\]\.\n", enabled)
    assert set(enabled.strip("[].\n").split(",")) == {"rabbitmq_management", "rabbitmq_prometheus"}
