"""gRPC over mutual TLS between real `serve` processes: who may call, and a whole checkout."""

from __future__ import annotations

import time

import grpc
import pytest
from django.conf import settings as django_settings

from ecommerce.contracts.errors import ServiceUnavailable
from ecommerce.transports.grpc.channels import close_channels
from ecommerce.transports.grpc.contracts import CONTRACTS
from ecommerce.transports.grpc.gen.product.v1 import product_pb2
from ecommerce.transports.grpc.interceptors import outgoing_metadata
from tests.factories import ProductFactory
from tests.fixtures.broker import purge_queues
from tests.fixtures.services import ServiceProcess, free_port
from tests.saga.flows import checkout

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

GET_PRODUCT = "/product.v1.ProductService/GetProduct"


@pytest.fixture
def tls_settings(settings, grpc_tls):
    """This process calls with the CA's certificate, on channels built afresh."""
    close_channels()
    for name, value in grpc_tls.ours.env().items():
        setattr(settings, name, value)
    settings.GRPC_RETRY_ATTEMPTS = 1
    settings.GRPC_DEADLINE_SECONDS = 3.0
    yield settings
    close_channels()


@pytest.fixture
def catalogue(start_service, grpc_tls, tls_settings):
    """`serve product` (phase 2) over mutual TLS, with a product to ask for."""
    product = ProductFactory(name="Kenya AA", stock=4)
    service = start_service("product", phase="2", env=grpc_tls.ours.env())
    return service, product


def _get_product(
    channel: grpc.Channel, product_id: int, metadata=()
) -> product_pb2.GetProductResponse:
    rpc = channel.unary_unary(
        GET_PRODUCT,
        request_serializer=product_pb2.GetProductRequest.SerializeToString,
        response_deserializer=product_pb2.GetProductResponse.FromString,
    )
    return rpc(product_pb2.GetProductRequest(product_id=product_id), timeout=3, metadata=metadata)


def test_a_call_over_mutual_tls_answers(catalogue):
    # given
    _, product = catalogue
    # when: the project's own adapter calls, its channel built from the GRPC_TLS_* settings
    answered = CONTRACTS["product"].client().get(product.pk)
    # then
    assert (answered.id, answered.name) == (product.pk, "Kenya AA")


def test_a_plaintext_client_is_refused_even_with_the_token(catalogue, settings):
    # given: this process without the TLS settings, so its channels are plaintext
    service, product = catalogue
    close_channels()
    for name in settings.GRPC_TLS_SETTINGS:
        setattr(settings, name, "")
    # when / then: the adapter cannot reach the service
    with pytest.raises(ServiceUnavailable):
        CONTRACTS["product"].client().get(product.pk)
    # and a bare plaintext channel carrying the right token fails the handshake
    with grpc.insecure_channel(service.address) as channel, pytest.raises(grpc.RpcError) as refused:
        _get_product(channel, product.pk, outgoing_metadata(settings.SERVICE_TOKEN))
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


def test_a_client_with_a_certificate_from_another_ca_is_refused(catalogue, grpc_tls):
    # given: a caller that trusts our CA but holds a certificate another CA signed
    service, product = catalogue
    token = outgoing_metadata(django_settings.SERVICE_TOKEN)
    channel = grpc.secure_channel(service.address, grpc_tls.foreign.credentials())
    # when / then
    with channel, pytest.raises(grpc.RpcError) as refused:
        _get_product(channel, product.pk, token)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    # and a caller with no certificate at all (TLS that checks only the server)
    server_only = grpc.ssl_channel_credentials(root_certificates=grpc_tls.ours.ca.read_bytes())
    with grpc.secure_channel(service.address, server_only) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            _get_product(channel, product.pk, token)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    # while the same call with our certificate answers
    with grpc.secure_channel(service.address, grpc_tls.ours.credentials()) as channel:
        assert _get_product(channel, product.pk, token).product.id == product.pk


def test_a_call_over_mutual_tls_without_the_token_is_refused(catalogue, grpc_tls):
    # given: a caller with a good certificate
    service, product = catalogue
    with grpc.secure_channel(service.address, grpc_tls.ours.credentials()) as channel:
        # when / then: no token, or a wrong one
        for metadata in ((), outgoing_metadata("not-the-token")):
            with pytest.raises(grpc.RpcError) as refused:
                _get_product(channel, product.pk, metadata)
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_a_checkout_across_phase_3_over_mutual_tls_completes(
    phase,
    auth_api,
    local_stripe,
    grpc_tls,
    tls_settings,
    tmp_path,
):
    # given: phase 3, every service its own process over mutual TLS, and this process the edge
    product = ProductFactory(stock=5, price=1200)
    apps = ("product", "cart", "order", "payment")
    targets = {app: f"127.0.0.1:{free_port()}" for app in apps}
    services = [
        ServiceProcess(
            app,
            phase="3",
            targets=targets,
            log=tmp_path / f"{app}.log",
            # the cart's and the order's workers run the saga's commands and steps
            worker=app in ("cart", "order"),
            env={**grpc_tls.ours.env(), **local_stripe.env()},
        )
        for app in apps
    ]
    tls_settings.GRPC_TARGETS = {**tls_settings.GRPC_TARGETS, **targets}
    tls_settings.GRPC_RETRY_ATTEMPTS = 4
    phase("3")
    purge_queues()
    for service in services:
        service.spawn()
    try:
        for service in services:
            service.wait_serving(60)
        # when: the shopper fills the cart and checks out, all through the edge's API
        line = {"product_id": product.pk, "quantity": 2}
        assert auth_api.post("/api/cart/items", line, format="json").status_code == 201
        order_id = checkout(auth_api, "tls-checkout")
        # then
        deadline = time.monotonic() + 90
        while (status := auth_api.get(f"/api/orders/{order_id}").json()["status"]) == "PENDING":
            if time.monotonic() > deadline:
                logs = "\n".join(s.log.read_text()[-2000:] for s in services)
                raise AssertionError(f"order {order_id} still PENDING:\n{logs}")
            time.sleep(0.2)
        assert status == "COMPLETED"
        product.refresh_from_db()
        assert product.stock == 3
        # charged once, at the Stripe server, by the payment service
        assert local_stripe.stats()["charges_by_order"].get(str(order_id)) == 1
        # and every service answered over the wire
        assert all(service.calls_served() > 0 for service in services)
    finally:
        for service in services:
            service.stop()
        purge_queues()
