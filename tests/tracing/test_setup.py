"""What `ecommerce.observability.tracing.setup` installs, decided by the standard OTEL_* variables alone; each
case in a fresh process, so nothing global changes here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.fixtures.worker import ROOT

PROBE = """
import json, django
django.setup()
from django.conf import settings
from opentelemetry import trace
from ecommerce.observability import tracing
installed = tracing.setup("probe", web=True)
provider = trace.get_tracer_provider()
print(json.dumps({
    "installed": installed,
    "provider": type(provider).__name__,
    "resource": dict(getattr(provider, "resource", None).attributes) if installed else {},
    "middleware": [m for m in settings.MIDDLEWARE if m.startswith(("opentelemetry", "ecommerce.observability.tracing"))],
}))
"""


def _probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    clean.update(DJANGO_SETTINGS_MODULE="settings.test", **env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_without_an_endpoint_nothing_is_installed():
    probe = _probe()
    assert probe == {
        "installed": False,
        "provider": "ProxyTracerProvider",
        "resource": {},
        "middleware": [],
    }


@pytest.mark.parametrize(
    "switch", [{"OTEL_SDK_DISABLED": "true"}, {"OTEL_TRACES_EXPORTER": "none"}]
)
def test_the_standard_switches_turn_it_off_even_with_an_endpoint(switch):
    probe = _probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318", **switch)
    assert (probe["installed"], probe["provider"]) == (False, "ProxyTracerProvider")


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_an_endpoint_installs_the_sdk_named_for_the_process_and_its_phase(protocol):
    probe = _probe(
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4317",
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        PHASE="2",
    )
    assert (probe["installed"], probe["provider"]) == (True, "TracerProvider")
    assert probe["resource"]["service.name"] == "probe"
    assert probe["resource"]["ecommerce.phase"] == "2"
    assert len(probe["middleware"]) == 1


def test_otel_service_name_wins_over_the_process_name():
    probe = _probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318", OTEL_SERVICE_NAME="shop")
    assert probe["resource"]["service.name"] == "shop"


def test_an_unknown_protocol_leaves_tracing_off():
    probe = _probe(
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_PROTOCOL="thrift"
    )
    assert (probe["installed"], probe["provider"]) == (False, "ProxyTracerProvider")
