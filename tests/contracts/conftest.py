"""Each port's suite runs twice: against the in-process adapter and the gRPC adapter.

The gRPC side is real: a grpc.server on a free port with the app's real servicer, the token
interceptor, health and reflection, reached through the real channel and client policy.
"""

from __future__ import annotations

import importlib

import pytest

from ecommerce import resolver
from ecommerce.grpc.channels import GrpcClient
from ecommerce.grpc.server import build_server

SERVED = ("product", "cart")


@pytest.fixture(scope="session")
def grpc_address():
    modules = [importlib.import_module(f"apps.{app}.grpc") for app in SERVED]

    def register(server):
        for module in modules:
            module.register(server)

    server, port, health = build_server(
        register=register,
        service_names=tuple(m.SERVICE_NAME for m in modules),
        address="127.0.0.1:0",
    )
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


@pytest.fixture
def remote_targets(settings, grpc_address):
    settings.GRPC_TARGETS = {app: grpc_address for app in settings.GRPC_TARGETS}
    return grpc_address


@pytest.fixture(params=["local", "grpc"])
def port_for(request):
    """`port_for("cart")`: the adapter this run of the suite is about."""
    remote = request.param == "grpc"
    if remote:
        request.getfixturevalue("remote_targets")

    def get(app: str):
        adapter = resolver.port(app, remote=remote)
        assert isinstance(adapter, GrpcClient) is remote
        return adapter

    return get
