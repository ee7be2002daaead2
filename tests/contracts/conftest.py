"""Each port's suite runs twice: against the in-process adapter and the gRPC adapter.

The gRPC side is real: a grpc.server on a free port with the app's real servicer, the token
interceptor, health and reflection, reached through the real channel and client policy.
"""

from __future__ import annotations

import pytest

from ecommerce.transports.grpc.channels import GrpcClient
from ecommerce.wiring import resolver
from tests.fixtures.grpc_server import monolith_grpc  # noqa: F401


@pytest.fixture
def remote_targets(settings, monolith_grpc):  # noqa: F811
    settings.GRPC_TARGETS = {app: monolith_grpc for app in settings.GRPC_TARGETS}
    return monolith_grpc


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
