"""The registry of services is the one list: everything that names services agrees with it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.conf import settings

from ecommerce import kafka, resolver
from ecommerce.ports import messages
from phases import NAMED, parse
from phases.services import CALLS, DATABASE_ALIASES, REGISTRY, SERVICES
from tests.deploy import procfile

ROOT = Path(__file__).resolve().parents[2]


def test_every_phase_extracts_only_registered_services():
    assert set().union(*NAMED.values()) == set(SERVICES)


def test_a_service_calls_only_registered_services_and_never_itself():
    for name, calls in CALLS.items():
        assert set(calls) <= set(SERVICES) - {name}


def test_queues_are_the_ones_the_messages_contract_names():
    assert {s.queue for s in REGISTRY.values() if s.queue} == set(messages.QUEUES)


def test_settings_ports_and_aliases_come_from_the_registry():
    assert settings.SERVICE_ALIASES == DATABASE_ALIASES
    assert settings.GRPC_PORTS == {n: s.grpc_port for n, s in REGISTRY.items()}
    assert settings.SERVICE_HTTP_PORTS == {n: s.http_port for n, s in REGISTRY.items()}
    ports = [*settings.GRPC_PORTS.values(), *settings.SERVICE_HTTP_PORTS.values()]
    assert len(ports) == len(set(ports))


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_its_adapters_servicer_and_proto(name):
    local, remote = resolver.ADAPTERS[name]
    for path in (local, remote):
        module, _, cls = path.rpartition(".")
        assert hasattr(importlib.import_module(module), cls), path
    assert importlib.import_module(f"apps.{name}.grpc")
    assert list((ROOT / "ecommerce/proto" / name).glob("v*/*.proto"))


def test_kafka_topics_one_per_service_plus_the_dead_letter_topic():
    topics = kafka.all_topics()
    assert len(topics) == len(SERVICES) + 1
    assert {kafka.service_topic(name) for name in SERVICES} < set(topics)


@pytest.mark.parametrize("phase", sorted(NAMED))
def test_each_phase_procfile_serves_its_services_and_what_they_call(phase):
    """An extracted service runs `serve <name> --migrate` on its own database; an app still in
    the monolith that one of them calls is served from the monolith's (no --migrate)."""
    serving = [p.argv for p in procfile.processes(phase).values() if "serve" in p.argv]
    served = {argv[argv.index("serve") + 1]: "--migrate" in argv for argv in serving}
    current = parse(phase)
    assert {name for name, own in served.items() if own} == set(current.extracted)
    assert {name for name, own in served.items() if not own} == set(current.monolith_endpoints())
