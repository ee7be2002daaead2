"""Every port call the resolver hands out is timed, labelled by its transport: in-process in
phase 0, gRPC once the phase extracts the service (a real `serve` process)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from ecommerce.contracts.product.errors import ProductNotFound
from ecommerce.transports.grpc.channels import GrpcClient
from ecommerce.wiring import resolver

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _calls(method: str, transport: str) -> float:
    labels = {"service": "product", "method": method, "transport": transport}
    return REGISTRY.get_sample_value("port_call_duration_seconds_count", labels) or 0.0


def _seconds(method: str, transport: str) -> float:
    labels = {"service": "product", "method": method, "transport": transport}
    return REGISTRY.get_sample_value("port_call_duration_seconds_sum", labels) or 0.0


def test_a_port_call_in_phase_0_is_timed_as_in_process(phase):
    # given
    phase("0")
    product = resolver.product()
    before = {t: _calls("categories", t) for t in ("inprocess", "grpc")}
    seconds = _seconds("categories", "inprocess")
    # when: a call, and one that raises the port's own error
    product.categories()
    product.categories()
    with pytest.raises(ProductNotFound):
        product.get(987654321)
    # then
    assert not isinstance(product, GrpcClient)
    assert _calls("categories", "inprocess") == before["inprocess"] + 2
    assert _calls("categories", "grpc") == before["grpc"]
    assert _seconds("categories", "inprocess") > seconds
    assert _calls("get", "inprocess") >= 1


def test_a_port_call_in_a_remote_phase_is_timed_as_grpc(phase, start_service):
    # given: phase 2, the catalogue served by its own process
    start_service("product", phase="2")
    phase("2")
    product = resolver.product()
    before = {t: _calls("categories", t) for t in ("inprocess", "grpc")}
    missing = _calls("get", "grpc")
    # when
    product.categories()
    with pytest.raises(ProductNotFound):
        product.get(987654321)
    # then: over the wire, the error rebuilt on this side, both timed
    assert isinstance(product, GrpcClient)
    assert _calls("categories", "grpc") == before["grpc"] + 1
    assert _calls("categories", "inprocess") == before["inprocess"]
    assert _calls("get", "grpc") == missing + 1
