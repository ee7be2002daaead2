"""The generic gRPC adapter and servicer: every port method has its RPC and its message pair in
the `.proto`, a contract whose parts disagree is refused at bind time, and values cross intact."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Protocol

import pytest

from ecommerce.contracts.cart.port import CartPort
from ecommerce.contracts.order.port import OrderData, OrderPort, SagaStepData
from ecommerce.contracts.payment.port import PaymentData, PaymentPort, RefundData
from ecommerce.contracts.product.port import ProductPort, ProductQuery, StockLine
from ecommerce.contracts.remote import Rpc, rpc, rpcs
from ecommerce.transports.grpc.binding import BindingError, bind, port_methods
from ecommerce.transports.grpc.contracts import CONTRACTS
from ecommerce.transports.grpc.gen.order.v1 import order_pb2
from ecommerce.transports.grpc.gen.payment.v1 import payment_pb2
from ecommerce.transports.grpc.gen.product.v1 import product_pb2
from phases.services import SERVICES


def _contract(service: str):
    port = importlib.import_module(f"ecommerce.contracts.{service}.port")
    messages = importlib.import_module(f"ecommerce.transports.grpc.gen.{service}.v1.{service}_pb2")
    protocol = getattr(port, f"{service.capitalize()}Port")
    return protocol, rpcs(protocol), messages


@pytest.mark.parametrize("service", SERVICES)
def test_the_bound_contract_is_the_one_its_package_declares(service):
    protocol, rpcs, messages = _contract(service)
    contract = CONTRACTS[service]
    assert (contract.protocol, contract.rpcs, contract.messages) == (protocol, rpcs, messages)
    assert set(port_methods(protocol)) <= set(vars(contract.client))


@pytest.mark.parametrize("service", SERVICES)
def test_every_port_method_has_its_rpc_and_message_pair(service):
    # given
    protocol, rpcs, messages = _contract(service)
    # when
    bindings = bind(protocol, rpcs, messages)
    # then
    (described,) = messages.DESCRIPTOR.services_by_name.values()
    assert set(bindings) == set(port_methods(protocol))
    assert {b.rpc.name for b in bindings.values()} == set(described.methods_by_name)
    for binding in bindings.values():
        method = described.methods_by_name[binding.rpc.name]
        assert binding.request_class.DESCRIPTOR is method.input_type
        assert binding.response_class.DESCRIPTOR is method.output_type


def test_a_method_with_no_rpc_named_is_refused():
    table = {k: v for k, v in rpcs(PaymentPort).items() if k != "refund"}
    with pytest.raises(BindingError, match="no RPC named for refund"):
        bind(PaymentPort, table, payment_pb2)


def test_each_method_marks_its_rpc_and_the_table_is_read_from_the_marks():
    table = rpcs(PaymentPort)
    assert table["charge"] == Rpc("Charge", idempotent=True, calls_provider=True)
    assert table["get"] == Rpc("GetPayment")
    assert rpcs(CartPort)["add_item"] == Rpc("AddItem", idempotent=False)


def test_a_port_method_left_unmarked_is_refused():
    class Unmarked(PaymentPort, Protocol):
        def refund(
            self, *, payment_id: int, idempotency_key: str, amount: int | None = None
        ) -> RefundData: ...

    with pytest.raises(BindingError, match="no RPC named for refund"):
        bind(Unmarked, rpcs(Unmarked), payment_pb2)


def test_a_marked_override_replaces_the_mark():
    class Renamed(PaymentPort, Protocol):
        @rpc("FetchPayment")
        def get(self, *, payment_id: int) -> PaymentData: ...

    assert rpcs(Renamed)["get"] == Rpc("FetchPayment")
    with pytest.raises(BindingError, match="has no rpc FetchPayment"):
        bind(Renamed, rpcs(Renamed), payment_pb2)


def test_an_rpc_missing_from_the_proto_is_refused():
    table = {**rpcs(PaymentPort), "get": Rpc("FetchPayment")}
    with pytest.raises(BindingError, match="has no rpc FetchPayment"):
        bind(PaymentPort, table, payment_pb2)


def test_an_rpc_of_the_proto_with_no_port_method_is_refused():
    class Smaller(Protocol):
        def get(self, *, payment_id: int) -> PaymentData: ...

    with pytest.raises(BindingError, match="no port method for .*Charge"):
        bind(Smaller, {"get": rpcs(PaymentPort)["get"]}, payment_pb2)


def test_a_parameter_the_request_message_lacks_is_refused():
    class Wider(PaymentPort, Protocol):
        def get(self, *, payment_id: int, include_refunds: bool) -> PaymentData: ...

    with pytest.raises(BindingError, match="include_refunds"):
        bind(Wider, rpcs(PaymentPort), payment_pb2)


def test_a_return_the_response_cannot_hold_is_refused():
    class Odd(PaymentPort, Protocol):
        def webhook_apply(self, *, payload: bytes, signature: str) -> PaymentData: ...

    with pytest.raises(BindingError, match="webhook_apply"):
        bind(Odd, rpcs(PaymentPort), payment_pb2)


def test_arguments_cross_by_name_with_an_unset_optional_as_none():
    # given
    binding = bind(OrderPort, rpcs(OrderPort), order_pb2)["get"]
    # when
    with_user = binding.arguments(binding.request({"order_id": 7, "user_id": 3}))
    without = binding.arguments(binding.request({"order_id": 7, "user_id": None}))
    # then
    assert with_user == {"order_id": 7, "user_id": 3}
    assert without == {"order_id": 7, "user_id": None}


def test_nested_and_repeated_arguments_and_a_mirrored_or_listed_result_round_trip():
    # given
    bindings = bind(ProductPort, rpcs(ProductPort), product_pb2)
    lines = (StockLine(product_id=1, quantity=2), StockLine(product_id=5, quantity=1))
    query = ProductQuery(search="mug", ordering="-price", offset=20, limit=10)
    # when
    hold = bindings["stock_hold"].arguments(
        bindings["stock_hold"].request({"hold_key": "k", "lines": lines})
    )
    listed = bindings["list"].arguments(bindings["list"].request({"query": query}))
    # then
    assert hold == {"hold_key": "k", "lines": lines}
    assert listed == {"query": query}
    assert bindings["list"].response_field is None  # ListProductsResponse mirrors ProductPage
    assert bindings["get_many"].returns_list


def test_an_optional_result_comes_back_as_none_and_a_list_as_a_list():
    # given
    find = bind(PaymentPort, rpcs(PaymentPort), payment_pb2)["find_by_idempotency_key"]
    orders = bind(OrderPort, rpcs(OrderPort), order_pb2)["list"]
    order = OrderData(
        id=1,
        user_id=2,
        status="FAILED",
        failure_reason="payment_declined",
        lines=(),
        total=900,
        currency="USD",
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        saga_step="",
        saga_history=(
            SagaStepData(
                step="charge_payment",
                status="FAILED",
                attempts=1,
                started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                finished_at=None,
                error="card_declined",
            ),
        ),
    )
    # when
    missing = find.result(find.response(None))
    listed = orders.result(orders.response([order, order]))
    # then
    assert missing is None
    assert listed == [order, order]


def test_the_client_takes_arguments_as_the_protocol_does_and_refuses_others_as_python_would():
    # given: a client whose transport answers with what it was asked
    GrpcOrderAdapter = CONTRACTS["order"].client  # noqa: N806 - a class
    GrpcProductAdapter = CONTRACTS["product"].client  # noqa: N806 - a class

    asked = []

    class Recording(GrpcOrderAdapter):
        def __init__(self):
            pass

        def call(self, method, request, *, timeout=None):
            asked.append((method, request))
            return order_pb2.GetOrderResponse()

    class RecordingProducts(GrpcProductAdapter):
        def __init__(self):
            pass

        def call(self, method, request, *, timeout=None):
            asked.append((method, request))
            return product_pb2.GetProductResponse()

    # when
    Recording().get(order_id=7)
    RecordingProducts().get(5)
    RecordingProducts().get(product_id=6)
    # then
    assert [(m, r.order_id, r.HasField("user_id")) for m, r in asked[:1]] == [
        ("GetOrder", 7, False)
    ]
    assert [(m, r.product_id) for m, r in asked[1:]] == [("GetProduct", 5), ("GetProduct", 6)]
    with pytest.raises(TypeError):
        Recording().get(7)  # keyword-only, as the Protocol says
    with pytest.raises(TypeError):
        Recording().get(order_id=7, colour="red")
    with pytest.raises(TypeError):
        RecordingProducts().get()
