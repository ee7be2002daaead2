"""The registry of services is the one list: everything that names services agrees with it."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from ecommerce.transports import kafka
from ecommerce.transports.grpc.contracts import CONTRACTS
from ecommerce.transports.queues import QUEUES
from ecommerce.wiring import resolver
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
    assert {s.queue for s in REGISTRY.values() if s.queue} == set(QUEUES)


def test_settings_ports_and_aliases_come_from_the_registry():
    assert settings.SERVICE_ALIASES == DATABASE_ALIASES
    assert settings.GRPC_PORTS == {n: s.grpc_port for n, s in REGISTRY.items()}
    assert settings.SERVICE_HTTP_PORTS == {n: s.http_port for n, s in REGISTRY.items()}
    ports = [*settings.GRPC_PORTS.values(), *settings.SERVICE_HTTP_PORTS.values()]
    assert len(ports) == len(set(ports))


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_its_adapter_and_a_whole_contract(name):
    contract = ROOT / "ecommerce/contracts" / name
    assert resolver.local_adapter(name).__module__ == f"apps.{name}.adapters"
    assert CONTRACTS[name].client.service == name
    assert {p.name for p in contract.glob("*.py")} >= {
        "__init__.py",
        "port.py",
        "errors.py",
        "events.py",
    }
    assert list(contract.glob("v*/*.proto"))
    assert resolver.remote_adapter(name) is CONTRACTS[name].client


@pytest.mark.parametrize("name", [n for n, s in REGISTRY.items() if s.queue])
def test_a_service_with_a_queue_names_it_in_its_commands_contract(name):
    commands = importlib.import_module(f"ecommerce.contracts.{name}.commands")
    assert getattr(commands, f"{name.upper()}_QUEUE") == REGISTRY[name].queue


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


def test_calling_a_remote_service_loads_none_of_its_app():
    """The gRPC client comes from the contract: resolving a remote port loads no app module
    (its adapters least of all), only the contract and the transport."""
    code = (
        "import sys, django; django.setup()\n"
        "before = {m for m in sys.modules if m.startswith('apps.')}\n"
        "from ecommerce.wiring import resolver\n"
        "for app in ('product', 'cart', 'order', 'payment'):\n"
        "    resolver.port(app, remote=True)\n"
        "print(sorted({m for m in sys.modules if m.startswith('apps.')} - before))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_beat_schedule_sends_the_sweep_the_order_contract_names():
    from ecommerce.contracts.cart.commands import CART_QUEUE, ReserveItems
    from ecommerce.contracts.order.commands import ORDER_QUEUE, SagaSweep

    # settings name tasks and queues as strings: they load before any of the project's code
    assert [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()] == [SagaSweep.name]
    routes = settings.CELERY_TASK_ROUTES
    assert routes[SagaSweep.name.split(".")[0] + ".*"] == {"queue": ORDER_QUEUE}
    assert routes[ReserveItems.name.split(".")[0] + ".*"] == {"queue": CART_QUEUE}
