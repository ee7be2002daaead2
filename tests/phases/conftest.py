"""Fixtures for the phase suites: service processes against the test databases."""

from __future__ import annotations

import pytest

import phases
from ecommerce.wiring import resolver
from tests.fixtures.grpc_server import monolith_grpc  # noqa: F401
from tests.fixtures.services import ServiceProcess, free_port
from tests.fixtures.tls import grpc_tls  # noqa: F401


@pytest.fixture
def start_service(tmp_path, settings):
    """`start_service("cart", phase="1")`: a real `serve` process; stopped after the test.

    The test process's adapters are pointed at it, and it at `targets` for the other apps.
    """
    started: list[ServiceProcess] = []

    def start(app: str, *, phase: str, targets: dict[str, str] | None = None, **options):
        targets = {**settings.GRPC_TARGETS, **(targets or {}), app: f"127.0.0.1:{free_port()}"}
        service = ServiceProcess(
            app, phase=phase, targets=targets, log=tmp_path / f"{app}.log", **options
        )
        started.append(service)
        service.start()
        settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, app: service.address}
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def phase(settings):
    """`phase("1")`: this test process is the edge of that phase."""

    def set_phase(name: str):
        settings.ECOMMERCE_PHASE = phases.parse(name)
        resolver.reset()

    yield set_phase
    resolver.reset()
