"""Property-based fuzzing of the consumer's event decoding: any message is an event the
aggregates can count, or an InvalidEvent that the consumer dead-letters; nothing else escapes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.analytics import services
from apps.analytics.events import Event, InvalidEvent, event_parse
from ecommerce.contracts.order.events import ORDER_LINE_KEYS
from ecommerce.contracts.records import required_fields
from ecommerce.transports import kafka
from ecommerce.transports.outbox import EVENT_TYPES
from tests.analytics.streams import consume_until
from tests.fixtures.kafka import topic_messages

FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# Values a field of the contract may be given: the edges of what the aggregates hold, and anything.
edges = st.sampled_from(
    [
        2**63,
        -(2**63) - 1,
        2**80,
        -1,
        0,
        2**53,
        "",
        "usd",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "2026-01-01T00:00:00",
        "\ud800",
        "x" * 300,
    ]
)
field_values = (
    edges
    | json_values
    | st.integers()
    | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    | st.uuids().map(str)
)


def _good_value(key: str, event_type: str):
    if key == "currency":
        return "USD"
    if key == "lines":
        return [{k: 1 for k in ORDER_LINE_KEYS}]
    if key in {"reason", "step", "decline_code", "sku", "name", "hold_key"}:
        return "x"
    if key == "is_active":
        return True
    return 1


@st.composite
def envelopes(draw) -> dict:
    """A valid envelope and payload, with some of their fields replaced by anything."""
    event_type = draw(st.sampled_from(sorted(EVENT_TYPES)))
    payload = {
        key: _good_value(key, event_type) for key in required_fields(EVENT_TYPES[event_type])
    }
    envelope = {
        "event_id": str(draw(st.uuids())),
        "event_type": event_type,
        "aggregate_type": "order",
        "aggregate_id": "1",
        "occurred_at": datetime.now(UTC).isoformat(),
        "schema_version": 1,
        "payload": payload,
    }
    # one or two fields broken, in the payload, a line of it, or the envelope
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        where = draw(st.sampled_from(["payload", "line", "envelope"]))
        target = envelope if where == "envelope" else payload
        if where == "line":
            if not isinstance(payload.get("lines"), list) or not payload["lines"]:
                continue
            target = payload["lines"][0]
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.integers(min_value=0, max_value=4)):
            target[key] = draw(field_values)
        else:
            del target[key]
    return envelope


def _decode(raw: bytes) -> Event | None:
    """The event, or None if refused; any other exception fails the property."""
    try:
        return event_parse(raw)
    except InvalidEvent as exc:
        # the reason travels as a Kafka header of the dead letter: it must say something, in UTF-8
        assert str(exc).encode()
        return None


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_are_an_event_or_refused(raw):
    _decode(raw)


@FUZZ
@given(json_values)
def test_any_json_is_an_event_or_refused(value):
    _decode(json.dumps(value).encode())


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000,  # deeper than the parser's recursion limit
        b"1" * 5000,  # more digits than Python converts
        b'{"event_id": 1e999}',
        b"\xff\xfe",
    ],
)
def test_what_the_parser_itself_cannot_read_is_refused(raw):
    with pytest.raises(InvalidEvent):
        event_parse(raw)


@pytest.mark.django_db(databases="__all__")
@FUZZ
@given(envelopes())
def test_an_envelope_with_any_field_broken_is_counted_or_refused(envelope):
    event = _decode(json.dumps(envelope).encode())
    if event is None:
        return
    # an event the parser lets through is one the aggregates can hold: counting it never fails
    # (a failure would send the consumer back to the same batch for ever)
    with transaction.atomic(using="analytics"):
        outcome = services.events_record(events=[event])
        assert outcome.counted == 1
        transaction.set_rollback(True, using="analytics")


def _event(event_type: str = "order.failed", payload: dict | None = None, **envelope) -> bytes:
    return json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "aggregate_type": "order",
            "aggregate_id": "1",
            "occurred_at": datetime.now(UTC).isoformat(),
            "schema_version": 1,
            "payload": payload or {"order_id": 1, "user_id": 2, "reason": "declined"},
        }
        | envelope
    ).encode()


LINE = {"product_id": 3, "quantity": 2, "unit_price": 150}
ORDER = {"order_id": 1, "user_id": 2, "total": 300, "currency": "USD", "lines": [LINE]}


# What the fuzzing found: each once escaped the parser as something other than InvalidEvent, or
# passed it and then failed the aggregates' write, so the consumer retried its batch for ever.
REFUSED = [
    _event(event_type=["order.failed"]),
    _event(schema_version={"v": 1}),
    _event(schema_version=True),
    _event(occurred_at="0001-01-01T00:00:00+05:00"),
    _event(occurred_at="9999-12-31T23:59:59-05:00"),
    _event("cart.item_added", {"user_id": 2**63, "product_id": 1, "quantity": 1}),
    _event("order.completed", ORDER | {"total": -(2**80)}),
    _event("order.completed", ORDER | {"lines": [LINE | {"quantity": 2**40, "unit_price": 2**40}]}),
    _event(payload={"order_id": 1, "user_id": 2, "reason": "nul\x00"}),
    _event(payload={"order_id": 1, "user_id": 2, "reason": "\ud800"}),
]


@pytest.mark.parametrize("raw", REFUSED)
def test_what_the_aggregates_cannot_hold_is_refused(raw):
    with pytest.raises(InvalidEvent):
        event_parse(raw)


@pytest.mark.django_db(databases="__all__")
def test_the_consumer_dead_letters_them_and_counts_what_follows(kafka_topics):
    # given: every refused message, then a good event, on a real broker
    producer = Producer(kafka.producer_config())
    for raw in (*REFUSED, _event()):
        producer.produce(kafka.service_topic("order"), key=b"1", value=raw)
    assert producer.flush(10) == 0
    # when
    stats = consume_until(lambda s: s.messages >= len(REFUSED) + 1)
    # then: each one dead-lettered with its reason, and the batch counted, not retried
    assert (stats.dead_lettered, stats.counted) == (len(REFUSED), 1)
    dead = topic_messages(kafka.dead_letter_topic())
    assert sorted(m.value() for m in dead) == sorted(REFUSED)
    assert all(dict(m.headers())["error"] for m in dead)


def test_a_well_formed_event_still_decodes():
    # the fuzzing above is only worth something if good events pass
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": "order.completed",
        "aggregate_type": "order",
        "aggregate_id": "1",
        "occurred_at": datetime.now(UTC).isoformat(),
        "schema_version": 1,
        "payload": {
            "order_id": 1,
            "user_id": 2,
            "total": 300,
            "currency": "USD",
            "lines": [{"product_id": 3, "quantity": 2, "unit_price": 150}],
        },
    }
    assert event_parse(json.dumps(envelope).encode()).payload.total == 300
