"""The Kubernetes overlays: each renders, validates against one pinned Kubernetes version's schemas
(strict), and runs its phase's Procfile processes with limits, probes, a PDB, an HPA where it
scales, a Service where it listens, and the settings production needs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
from django.conf import settings

from phases import NAMED
from tests.deploy.compose import DOCKER
from tests.deploy.environment import names_read
from tests.deploy.kustomize import render
from tests.deploy.procfile import PHASES, ROOT, processes, serves, split_command
from tests.deploy.settings_probe import settings_for

K8S = DOCKER / "k8s"
KUBERNETES_VERSION = "1.32.0"
# Not run by Kubernetes here: Kafka is a backing service like PostgreSQL, and production pays
# through Stripe itself, not the local stand-in.
NOT_DEPLOYED = {"kafka", "stripe"}
PLACE_OPTIONS = {"--bind", "--schedule"}
# One replica each, never scaled: the worker carries the beat, a relay keeps its outbox's order,
# reconciliation runs on a timer.
SINGLETONS = {"worker", "reconcile-payments"} | {f"relay-{s}" for s in NAMED[3]}
SECRET = "ecommerce-secrets"
# What the Secret holds in a cluster, for checking the settings built from it.
SECRET_SAMPLES = {
    "DJANGO_SECRET_KEY": "k",
    "DATABASE_URL": "postgres://shop:pw@db.internal:5432/ecommerce",
    "CELERY_BROKER_URL": "amqp://shop:pw@rabbitmq:5672/ecommerce",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "SERVICE_TOKEN": "t",
}


def _rendered(phase: int) -> list[dict]:
    return render(K8S / f"overlays/phase{phase}")


# What docker/k8s/components/observability adds beside the processes: Jaeger and the exporters.
OBSERVABILITY = "observability"


def _of(documents: list[dict], kind: str, *, observability: bool = False) -> dict[str, dict]:
    """The documents of `kind` by name: the processes' (by default) or the observability
    component's."""
    return {
        doc["metadata"]["name"]: doc
        for doc in documents
        if doc["kind"] == kind
        and (doc["metadata"]["labels"].get("app.kubernetes.io/component") == OBSERVABILITY)
        is observability
    }


def _container(workload: dict) -> dict:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _environment(container: dict, config: dict) -> tuple[dict[str, str], set[str]]:
    """The plain values a container gets (its ConfigMap's, then its own), and the names it takes
    from the Secret."""
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == config["metadata"]["name"]
        values.update(config["data"])
    secret = set()
    for entry in container.get("env", []):
        if "value" in entry:
            values[entry["name"]] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] == SECRET and ref["key"] == entry["name"]
            secret.add(entry["name"])
    return values, secret


def _selects(selector: dict, workload: dict) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    return selector["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("phase", PHASES)
def test_overlay_renders_and_validates_strictly_for_the_pinned_kubernetes(phase):
    # given
    documents = _rendered(phase)
    # when / then: kubernetes-validate raises on any schema error, strict refuses unknown fields
    for doc in documents:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert {doc["kind"] for doc in documents} >= {
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Job",
    }


def test_strict_validation_refuses_what_kubernetes_would_refuse():
    # given: a misspelt field, as a typo in a manifest would have it
    deployment = _of(_rendered(0), "Deployment")["web"]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    # then
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("phase", PHASES)
def test_overlay_deploys_the_procfile_processes_with_their_commands(phase):
    # given
    documents = _rendered(phase)
    deployments = _of(documents, "Deployment")
    jobs = _of(documents, "Job")
    expected = {n: p for n, p in processes(phase).items() if n not in NOT_DEPLOYED}
    config = _of(documents, "ConfigMap")["ecommerce-config"]
    # then
    assert set(deployments) == set(expected)
    migrated_by_job = set()
    for name, process in expected.items():
        container = _container(deployments[name])
        head, options = split_command(container["command"])
        want_head, wanted = split_command(process.argv)
        assert head == want_head, name
        if "--migrate" in wanted:
            # `serve <app> --migrate` migrates in every replica at start; here a Job does it once.
            del wanted["--migrate"]
            migrated_by_job.add(serves(process))
        assert options.keys() == wanted.keys(), name
        for option, value in wanted.items():
            if option not in PLACE_OPTIONS:
                assert options[option] == value, (name, option)
        values, _ = _environment(container, config)
        assert values.get("ECOMMERCE_SERVES") == process.env.get(
            "ECOMMERCE_SERVES", serves(process)
        ), name
    assert set(jobs) == {"migrate"} | {f"migrate-{app}" for app in migrated_by_job}
    for app in migrated_by_job:
        job = _container(jobs[f"migrate-{app}"])
        assert job["command"] == ["python", "manage.py", "migrate_all"]
        assert _environment(job, config)[0]["ECOMMERCE_SERVES"] == app


@pytest.mark.parametrize("phase", PHASES)
def test_every_workload_has_requests_limits_a_non_root_user_and_the_image(phase):
    documents = _rendered(phase)
    observing = _of(documents, "Deployment", observability=True)
    workloads = {**_of(documents, "Deployment"), **_of(documents, "Job"), **observing}
    for name, workload in workloads.items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        container = _container(workload)
        if name in observing:  # pinned images from elsewhere
            assert re.fullmatch(r"[\w./-]+:v?\d+(\.\d+)+", container["image"]), name
        else:
            assert re.fullmatch(r"ecommerce:[\w.-]+", container["image"]), name
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= container["resources"][bound].keys(), (name, bound)


@pytest.mark.parametrize("phase", PHASES)
def test_probes_are_on_the_health_endpoints_each_process_has(phase):
    # given
    deployments = _of(_rendered(phase), "Deployment")
    http = {"web": 8000}
    for name, process in processes(phase).items():
        if serves(process):
            http[name] = settings.SERVICE_HTTP_PORTS[serves(process)]
    for name, deployment in deployments.items():
        container = _container(deployment)
        ports = {port["name"]: port["containerPort"] for port in container.get("ports", [])}
        if name in http:
            # then: readiness on /readyz, liveness on /healthz, of the process's own HTTP port
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                get = container[probe]["httpGet"]
                assert get["path"] == path, (name, probe)
                assert ports[get["port"]] == http[name], (name, probe)
        elif name == "worker":
            hostname = split_command(container["command"])[1]["--hostname"].split("@")[0]
            ping = " ".join(container["livenessProbe"]["exec"]["command"])
            assert f"inspect ping --destination {hostname}@$HOSTNAME" in ping
        else:  # no endpoint to ask: nothing is pretended
            assert not {"readinessProbe", "livenessProbe", "startupProbe"} & container.keys()


@pytest.mark.parametrize("phase", PHASES)
def test_every_deployment_has_a_pdb_and_an_hpa_where_it_scales(phase):
    # given
    documents = _rendered(phase)
    deployments = _of(documents, "Deployment")
    pdbs = _of(documents, "PodDisruptionBudget")
    hpas = _of(documents, "HorizontalPodAutoscaler")
    for name, deployment in deployments.items():
        # then: one PDB selects its pods, and no other Deployment's
        selecting = [p for p in pdbs.values() if _selects(p["spec"]["selector"], deployment)]
        assert len(selecting) == 1, name
        others = [d for n, d in deployments.items() if n != name]
        assert not any(_selects(selecting[0]["spec"]["selector"], d) for d in others), name
        assert _selects(deployment["spec"]["selector"], deployment), name
        scaling = [h for h in hpas.values() if h["spec"]["scaleTargetRef"]["name"] == name]
        if name in SINGLETONS:
            assert not scaling, name
            assert deployment["spec"]["replicas"] == 1, name
            assert deployment["spec"]["strategy"]["type"] == "Recreate", name
        else:
            (hpa,) = scaling
            assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
            (metric,) = hpa["spec"]["metrics"]
            assert metric["resource"]["name"] == "cpu"
            assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert set(pdbs) == set(deployments)
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} <= set(deployments)
    observing = _of(documents, "Deployment", observability=True)
    assert set(_of(documents, "PodDisruptionBudget", observability=True)) == set(observing)
    assert not _of(documents, "HorizontalPodAutoscaler", observability=True)


@pytest.mark.parametrize("phase", PHASES)
def test_a_service_fronts_each_process_that_listens(phase):
    # given
    documents = _rendered(phase)
    deployments = _of(documents, "Deployment")
    services = _of(documents, "Service")
    config = _of(documents, "ConfigMap")["ecommerce-config"]
    listening = {"web"} | {n for n, p in processes(phase).items() if serves(p)}
    # then
    assert set(services) == listening
    for name, service in services.items():
        deployment = deployments[name]
        assert _selects({"matchLabels": service["spec"]["selector"]}, deployment)
        ports = {p["name"]: p["containerPort"] for p in _container(deployment)["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, (name, port)
    for name, process in processes(phase).items():
        app = serves(process)
        if app:  # callers dial the Service, on the port the service listens on
            target = config["data"][f"{app.upper()}_GRPC_TARGET"]
            assert target == f"{name}:{settings.GRPC_PORTS[app]}"
            grpc = {p["name"]: p["port"] for p in services[name]["spec"]["ports"]}["grpc"]
            assert grpc == settings.GRPC_PORTS[app]
    dialled = {key for key in config["data"] if key.endswith("_GRPC_TARGET")}
    assert dialled == {
        f"{serves(p).upper()}_GRPC_TARGET" for p in processes(phase).values() if serves(p)
    }


@pytest.mark.parametrize("phase", PHASES)
def test_every_pod_is_scraped_on_its_metrics_port(phase):
    # given: where each process serves /metrics (the same ports as compose and `make run`)
    from tests.deploy.test_prometheus import _metrics_endpoints

    documents = _rendered(phase)
    endpoints = {n: int(t.rsplit(":", 1)[1]) for n, t in _metrics_endpoints(phase).items()}
    deployments = {
        **_of(documents, "Deployment"),
        **_of(documents, "Deployment", observability=True),
    }
    for name, deployment in deployments.items():
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        ports = {p["name"]: p["containerPort"] for p in _container(deployment).get("ports", [])}
        if name == "jaeger":  # traces, not metrics
            assert "prometheus.io/scrape" not in annotations
            continue
        # then: the annotations name a port the container declares, where it serves /metrics
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/path"] == "/metrics", name
        port = int(annotations["prometheus.io/port"])
        assert port in ports.values(), name
        if name in endpoints:
            assert port == endpoints[name], name
        process = processes(phase).get(name)
        if process is not None and serves(process):
            # the worker a service starts: a port of its own, which one annotation cannot name
            assert ports["worker-metrics"] == endpoints[f"{name}-worker"], name
    assert set(endpoints) <= set(deployments) | {
        f"{n}-worker" for n, p in processes(phase).items() if serves(p)
    }


@pytest.mark.parametrize("phase", PHASES)
def test_every_process_exports_its_traces_to_jaeger_under_its_own_name(phase):
    # given
    from ecommerce.observability import tracing
    from tests.deploy.test_compose import JAEGER_OTLP_PORTS, trace_names

    documents = _rendered(phase)
    config = _of(documents, "ConfigMap")["ecommerce-config"]
    jaeger = _of(documents, "Service", observability=True)["jaeger"]
    jaeger_pod = _of(documents, "Deployment", observability=True)["jaeger"]
    service_ports = {p["port"]: p["targetPort"] for p in jaeger["spec"]["ports"]}
    pod_ports = {p["name"]: p["containerPort"] for p in _container(jaeger_pod)["ports"]}
    names = []
    for name, deployment in _of(documents, "Deployment").items():
        values, _ = _environment(_container(deployment), config)
        # then: OTLP to Jaeger's Service, on the port of the protocol, which reaches its pod
        protocol = values["OTEL_EXPORTER_OTLP_PROTOCOL"]
        assert protocol in tracing.PROTOCOLS, name
        endpoint = urlsplit(values["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert endpoint.hostname == jaeger["metadata"]["name"], name
        target = service_ports[endpoint.port]
        assert pod_ports[target] == JAEGER_OTLP_PORTS[protocol], name
        # each named as its code names it
        assert values["OTEL_SERVICE_NAME"] == trace_names(processes(phase)[name])[0], name
        names.append(values["OTEL_SERVICE_NAME"])
        assert values["JAEGER_UI_URL"], name
    assert len(names) == len(set(names))
    assert _selects({"matchLabels": jaeger["spec"]["selector"]}, jaeger_pod)
    assert pod_ports["ui"] == 16686


def test_the_exporters_read_the_backing_services_the_processes_use():
    # given
    documents = _rendered(3)
    exporters = _of(documents, "Deployment", observability=True)
    postgres = {e["name"]: e for e in _container(exporters["postgres-exporter"])["env"]}
    redis = {e["name"]: e for e in _container(exporters["redis-exporter"])["env"]}
    # then: the edge's database from the Secret, the cache from the ConfigMap
    assert postgres["DATA_SOURCE_NAME"]["valueFrom"]["secretKeyRef"] == {
        "name": SECRET,
        "key": "DATABASE_URL",
    }
    assert redis["REDIS_ADDR"]["valueFrom"]["configMapKeyRef"] == {
        "name": "ecommerce-config",
        "key": "REDIS_URL",
    }


@pytest.mark.parametrize("phase", PHASES)
def test_settings_come_from_the_configmap_and_a_secret_that_is_not_committed(phase):
    # given
    documents = _rendered(phase)
    config = _of(documents, "ConfigMap")["ecommerce-config"]
    required = set(
        re.findall(
            r'env\.\w+\(\s*"([A-Z0-9_]+)"\s*\)', (ROOT / "settings/production.py").read_text()
        )
    )
    # then
    assert not _of(documents, "Secret")
    assert config["data"]["PHASE"] == str(phase)
    assert config["data"]["ECOMMERCE_MODE"] == "production"
    for name, workload in {**_of(documents, "Deployment"), **_of(documents, "Job")}.items():
        values, secret = _environment(_container(workload), config)
        assert not (set(values) | secret) - names_read(), name
        assert required <= set(values) | secret, (name, sorted(required - set(values) - secret))
        assert not set(values) & set(SECRET_SAMPLES), name


@pytest.mark.parametrize("phase", PHASES)
def test_production_settings_built_from_each_pod_give_it_its_databases(phase, tmp_path):
    # given: one pod of each kind of environment (the edge's, each service's)
    documents = _rendered(phase)
    config = _of(documents, "ConfigMap")["ecommerce-config"]
    seen: dict[str, dict] = {}
    for workload in _of(documents, "Deployment").values():
        values, secret = _environment(_container(workload), config)
        env = {**values, **{key: SECRET_SAMPLES[key] for key in secret if key in SECRET_SAMPLES}}
        seen.setdefault(env.get("ECOMMERCE_SERVES", ""), env)
    for serving, env in seen.items():
        # when
        built = settings_for(env, tmp_path)
        # then
        assert built["debug"] is False
        assert built["extracted"] == sorted(NAMED[phase])
        assert built["kafka"] == config["data"]["KAFKA_BOOTSTRAP_SERVERS"]
        if serving in NAMED[phase]:
            assert set(built["databases"]) == {"default", serving}
            assert built["databases"][serving] == f"ecommerce_{serving}"
        elif not serving:
            local = {a for a in settings.SERVICE_ALIASES if a not in NAMED[phase]}
            assert set(built["databases"]) == {"default"} | local


@pytest.mark.parametrize("phase", PHASES)
def test_from_phase_1_every_pod_mounts_its_grpc_certificate_where_the_settings_look(phase):
    # given
    documents = _rendered(phase)
    config = _of(documents, "ConfigMap")["ecommerce-config"]["data"]
    tls = {name: config.get(name) for name in settings.GRPC_TLS_SETTINGS}
    # then: phase 0 calls no service; from phase 1 on, production refuses to start without them
    if phase == 0:
        assert tls == dict.fromkeys(settings.GRPC_TLS_SETTINGS)
        return
    assert all(tls.values()), tls
    (directory,) = {path.rsplit("/", 1)[0] for path in tls.values()}
    for name, workload in {**_of(documents, "Deployment"), **_of(documents, "Job")}.items():
        pod = workload["spec"]["template"]["spec"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "grpc-tls"]
        assert volume["secret"]["secretName"] == "ecommerce-grpc-tls", name
        (mount,) = [m for m in _container(workload)["volumeMounts"] if m["name"] == "grpc-tls"]
        assert (mount["mountPath"], mount["readOnly"]) == (directory, True), name
    assert {path.rsplit("/", 1)[1] for path in tls.values()} == {"ca.crt", "tls.crt", "tls.key"}


def test_the_overlays_are_the_phases():
    assert {p.name for p in (K8S / "overlays").iterdir()} == {f"phase{n}" for n in PHASES}
