"""Property-based fuzzing of the gRPC boundary: the mapping between port dataclasses and their
messages, and every method of every service fed arbitrary requests over a real socket."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime

import grpc
import pytest
from django.conf import settings as django_settings
from google.protobuf.descriptor import FieldDescriptor as F
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecommerce.contracts.cart import port as cart
from ecommerce.contracts.order import port as order
from ecommerce.contracts.payment import port as payment
from ecommerce.contracts.product import port as product
from ecommerce.transports.grpc.gen.cart.v1 import cart_pb2
from ecommerce.transports.grpc.gen.order.v1 import order_pb2
from ecommerce.transports.grpc.gen.payment.v1 import payment_pb2
from ecommerce.transports.grpc.gen.product.v1 import product_pb2
from ecommerce.transports.grpc.interceptors import TOKEN_KEY
from ecommerce.transports.grpc.messages import MessageMappingError, from_message
from tests.fixtures.broker import purge_queues
from tests.fixtures.grpc_client import domain_code, to_message
from tests.fixtures.grpc_server import start_in_process

# Each port dataclass and the message that mirrors it.
PAIRS = [
    (cart.CartLine, cart_pb2.CartLine),
    (cart.CartData, cart_pb2.Cart),
    (cart.CartReservation, cart_pb2.CartReservation),
    (product.CategoryData, product_pb2.Category),
    (product.ProductData, product_pb2.Product),
    (product.ProductQuery, product_pb2.ProductQuery),
    (product.StockLine, product_pb2.StockLine),
    (product.StockHold, product_pb2.StockHold),
    (order.OrderLineData, order_pb2.OrderLine),
    (order.SagaStepData, order_pb2.SagaStep),
    (order.OrderData, order_pb2.Order),
    (payment.PaymentData, payment_pb2.Payment),
    (payment.RefundData, payment_pb2.Refund),
    (payment.WebhookReceipt, payment_pb2.WebhookReceipt),
]
IDS = [dto.__name__ for dto, _ in PAIRS]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)

_INT_RANGES = {
    **dict.fromkeys((F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64), (-(2**63), 2**63 - 1)),
    **dict.fromkeys((F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32), (-(2**31), 2**31 - 1)),
    **dict.fromkeys((F.TYPE_UINT64, F.TYPE_FIXED64), (0, 2**64 - 1)),
    **dict.fromkeys((F.TYPE_UINT32, F.TYPE_FIXED32), (0, 2**32 - 1)),
}
_TIMESTAMP = "google.protobuf.Timestamp"
_UTF8 = st.characters(exclude_categories=["Cs"])  # what a proto3 string can hold


def _in_range_int(field) -> st.SearchStrategy[int]:
    low, high = _INT_RANGES[field.type]
    return st.integers(low, high) | st.sampled_from([low, high, 0, 1, -1 if low else 0])


def _text() -> st.SearchStrategy[str]:
    return st.text(_UTF8, max_size=40) | st.sampled_from(["", "\x00", "a\x00b", "é" * 300])


# --- the dataclass <-> message mapping --------------------------------------------------------


def _dto_values(cls: type, message_type, *, wild: bool) -> st.SearchStrategy:
    """Instances of `cls`: within what its message can hold, or (`wild`) any value of the
    annotated Python type."""
    hints = typing.get_type_hints(cls)
    fields = message_type.DESCRIPTOR.fields_by_name
    values = {}
    for field in dataclasses.fields(cls):
        values[field.name] = _hint_values(hints[field.name], fields[field.name], wild=wild)
    return st.builds(cls, **values)


def _hint_values(hint, field, *, wild: bool) -> st.SearchStrategy:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = next(a for a in typing.get_args(hint) if a is not type(None))
        return st.none() | _hint_values(inner, field, wild=wild)
    if origin in (tuple, list):
        element = _hint_values(typing.get_args(hint)[0], field, wild=wild)
        return st.lists(element, max_size=3).map(tuple)
    if dataclasses.is_dataclass(hint):
        return _dto_values(hint, _message_class(field), wild=wild)
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers() if wild else _in_range_int(field)
    if hint is str:
        return st.text() if wild else _text()
    if hint is datetime:
        if wild:
            return st.datetimes(timezones=st.none() | st.timezones())
        return st.datetimes(timezones=st.just(UTC))
    raise AssertionError(f"no strategy for {hint}")


def _message_class(field):
    for _, pb in PAIRS:
        if pb.DESCRIPTOR is field.message_type:
            return pb
    raise AssertionError(field.message_type.full_name)


@pytest.mark.parametrize(("dto_class", "message_class"), PAIRS, ids=IDS)
def test_a_dataclass_survives_the_round_trip(dto_class, message_class):
    @FUZZ
    @given(_dto_values(dto_class, message_class, wild=False))
    def round_trip(dto):
        wire = to_message(message_class, dto).SerializeToString()
        assert from_message(dto_class, message_class.FromString(wire)) == dto

    round_trip()


@pytest.mark.parametrize(("dto_class", "message_class"), PAIRS, ids=IDS)
def test_a_value_the_message_cannot_hold_is_named_not_a_crash(dto_class, message_class):
    @FUZZ
    @given(_dto_values(dto_class, message_class, wild=True))
    def mapped_or_refused(dto):
        try:
            to_message(message_class, dto)
        except MessageMappingError as exc:
            assert str(exc).startswith(f"{dto_class.__name__}.")

    mapped_or_refused()


@pytest.mark.parametrize(("dto_class", "message_class"), PAIRS, ids=IDS)
def test_any_bytes_from_a_peer_are_a_dataclass_or_refused(dto_class, message_class):
    @FUZZ
    @given(st.binary(max_size=200))
    def decoded_or_refused(wire):
        try:
            message = message_class.FromString(wire)
        except DecodeError:
            return  # refused by protobuf itself, as gRPC's deserializer does
        try:
            from_message(dto_class, message)
        except MessageMappingError as exc:
            assert str(exc).startswith(f"{dto_class.__name__}.")

    decoded_or_refused()


def test_a_timestamp_past_datetime_is_named():
    message = order_pb2.Order()
    message.created_at.seconds = 2**40
    with pytest.raises(MessageMappingError, match=r"^OrderData\.created_at: "):
        from_message(order.OrderData, message)


def test_a_value_past_its_field_is_named_with_its_path():
    line = cart.CartLine(
        product_id=2**63, sku="S", name="N", quantity=1, unit_price=1, currency="USD"
    )
    dto = cart.CartData(user_id=1, items=(line,), currency="USD")
    with pytest.raises(MessageMappingError, match=r"^CartData\.CartLine\.product_id: "):
        to_message(cart_pb2.Cart, dto)


# --- every method, fed anything a well-formed request may carry --------------------------------


def _message_values(descriptor, depth: int = 0) -> st.SearchStrategy[dict]:
    optional = {}
    for field in descriptor.fields:
        values = _field_values(field, depth)
        if values is not None:
            optional[field.name] = st.lists(values, max_size=3) if field.is_repeated else values
    return st.fixed_dictionaries({}, optional=optional)


def _field_values(field, depth: int):
    if field.type in _INT_RANGES:
        return _in_range_int(field)
    if field.type == F.TYPE_BOOL:
        return st.booleans()
    if field.type == F.TYPE_STRING:
        return _text()
    if field.type == F.TYPE_BYTES:
        return st.binary(max_size=100)
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(allow_nan=False, width=32)
    if field.type == F.TYPE_ENUM:
        return st.sampled_from([value.number for value in field.enum_type.values])
    if field.message_type.full_name == _TIMESTAMP:
        return st.fixed_dictionaries(
            {"seconds": st.integers(-62135596800, 253402300799), "nanos": st.integers(0, 10**9 - 1)}
        )
    if depth >= 3:
        return None
    return _message_values(field.message_type, depth + 1)


def _methods():
    for module in (cart_pb2, product_pb2, order_pb2, payment_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                yield module, service, method


METHODS = list(_methods())


@pytest.fixture(scope="module")
def fuzzed_server():
    server, address = start_in_process(("product", "cart", "order", "payment"))
    channel = grpc.insecure_channel(address)
    yield channel
    channel.close()
    server.stop(grace=None)


@pytest.mark.django_db(databases="__all__", transaction=True)
@pytest.mark.parametrize(
    ("module", "service", "method"), METHODS, ids=[f"{s.name}.{m.name}" for _, s, m in METHODS]
)
def test_every_method_answers_or_refuses_any_request(
    fuzzed_server, local_stripe, module, service, method
):
    request_class = getattr(module, method.input_type.name)
    response_class = getattr(module, method.output_type.name)
    call = fuzzed_server.unary_unary(
        f"/{service.full_name}/{method.name}",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    token = ((TOKEN_KEY, django_settings.SERVICE_TOKEN),)
    purge_queues()

    @settings(FUZZ, max_examples=40)
    @given(_message_values(request_class.DESCRIPTOR))
    def answered_or_refused(fields):
        try:
            call(request_class(**fields), metadata=token, timeout=30)
        except grpc.RpcError as error:
            # refused as the domain refuses it: a status and the domain error's code, never
            # INTERNAL or UNKNOWN from a crash
            assert domain_code(error) is not None, (error.code(), error.details())

    answered_or_refused()
    purge_queues()
