"""Every event and command of every contract is a typed record: it round-trips through JSON,
and a payload that does not fit its type is refused naming the field, never half read."""

from __future__ import annotations

import dataclasses
import json
import types
import typing

import pytest

from ecommerce.contracts.order.events import ORDER_LINE_KEYS, OrderCreated, OrderLineData
from ecommerce.contracts.product.events import ProductCreated
from ecommerce.contracts.records import MAX_INTEGER, InvalidRecord, required_fields
from ecommerce.transports.outbox import EVENT_TYPES

_SAMPLE = {int: 7, str: "x", bool: True}


def _sample(cls):
    """A valid instance of `cls` with every field, optional ones included, set."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            (hint,) = [h for h in typing.get_args(hint) if h is not type(None)]
        if typing.get_origin(hint) is tuple:
            values[f.name] = (_sample(typing.get_args(hint)[0]),)
        elif f.metadata.get("currency"):
            values[f.name] = "EUR"
        else:
            values[f.name] = _SAMPLE[hint]
    return cls(**values)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_round_trips_through_json(event_type):
    cls = EVENT_TYPES[event_type]
    event = _sample(cls)
    assert cls.type == event_type and cls.aggregate in {"product", "cart", "order", "payment"}
    assert cls.from_payload(json.loads(json.dumps(event.to_payload()))) == event
    assert event.aggregate_id == "7"


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_a_payload_without_a_required_key_is_refused_naming_it(event_type):
    cls = EVENT_TYPES[event_type]
    for key in required_fields(cls):
        payload = _sample(cls).to_payload()
        del payload[key]
        with pytest.raises(InvalidRecord, match=f"lacks {key}"):
            cls.from_payload(payload)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"price": True}, "price is not an integer"),
        ({"price": -1}, "price is negative"),
        ({"stock": 2**53}, "stock is not an integer within"),
        ({"currency": "usd"}, "currency is not an ISO 4217 code"),
        ({"name": "a\x00b"}, "name is not a string of text"),
        ({"name": "\ud800"}, "name is not a string of text"),
        ({"is_active": 1}, "is_active is not true or false"),
    ],
)
def test_a_value_of_the_wrong_shape_is_refused(change, message):
    payload = _sample(ProductCreated).to_payload() | change
    with pytest.raises(InvalidRecord, match=message):
        ProductCreated.from_payload(payload)


def test_keys_the_contract_does_not_name_are_ignored():
    payload = _sample(ProductCreated).to_payload() | {"colour": "teal"}
    assert ProductCreated.from_payload(payload) == _sample(ProductCreated)


def test_order_lines_are_records_too():
    line = {"product_id": 1, "quantity": 2, "unit_price": 250}
    event = OrderCreated.from_payload(
        {"order_id": 1, "user_id": 2, "total": 500, "currency": "USD", "lines": [line]}
    )
    assert event.lines == (OrderLineData(product_id=1, quantity=2, unit_price=250),)
    assert ORDER_LINE_KEYS == ("product_id", "quantity", "unit_price")
    with pytest.raises(InvalidRecord, match="a lines entry: .*lacks unit_price"):
        OrderCreated.from_payload(
            {
                "order_id": 1,
                "user_id": 2,
                "total": 0,
                "currency": "USD",
                "lines": [{"product_id": 1, "quantity": 1}],
            }
        )
    with pytest.raises(InvalidRecord, match="out of range"):
        OrderLineData.from_payload({"product_id": 1, "quantity": MAX_INTEGER, "unit_price": 2})


def test_a_command_that_does_not_fit_is_a_malformed_command():
    from ecommerce.contracts.cart.commands import ReserveItems
    from ecommerce.contracts.errors import InvalidRequest
    from ecommerce.contracts.order.commands import ReservedLine, SagaReply, StepResult

    good = {"order_id": 1, "user_id": 2, "reservation_key": "checkout-1"}
    assert ReserveItems.decode(good) == ReserveItems(**good)
    for change in ({"order_id": "1; DROP TABLE"}, {"user_id": 0}, {"reservation_key": "a b"}):
        with pytest.raises(InvalidRequest, match="malformed command"):
            ReserveItems.decode(good | change)
    reply = SagaReply(
        order_id=1,
        step="reserve_cart",
        ok=True,
        result=StepResult(
            currency="USD",
            items=(ReservedLine(product_id=3, sku="S", name="N", quantity=1, unit_price=5),),
        ),
    )
    assert SagaReply.decode(json.loads(json.dumps(reply.to_payload()))) == reply
    assert "status" not in reply.to_payload()["result"]  # an unset optional field is left out
