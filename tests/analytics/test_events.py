"""Reading events: the contract is enforced, and an event is counted once however often it comes."""

import json
import uuid

import pytest
from django.db import transaction

from apps.analytics.events import InvalidEvent, event_parse
from apps.analytics.models import ActivityBucket, ProcessedEvent
from apps.analytics.services import events_record
from apps.order.models import OutboxEvent as OrderOutbox
from ecommerce.contracts.order.events import OrderCreated, OrderLineData
from ecommerce.transports.outbox import emit

pytestmark = pytest.mark.django_db(databases="__all__")


def envelope(**payload_overrides) -> dict:
    with transaction.atomic(using="order"):
        row = emit(
            OrderOutbox,
            OrderCreated(
                order_id=3,
                user_id=4,
                total=500,
                currency="USD",
                lines=(OrderLineData(product_id=1, quantity=2, unit_price=250),),
            ),
            using="order",
        )
    data = row.envelope()
    data["payload"] |= payload_overrides
    return data


def test_an_outbox_envelope_reads_back():
    event = event_parse(json.dumps(envelope()).encode())
    assert event.event_type == "order.created"
    assert event.payload.total == 500
    assert event.payload.lines[0].unit_price == 250


@pytest.mark.parametrize(
    "change",
    [
        {"total": "500"},
        {"total": -1},
        {"currency": "usd"},
        {"user_id": True},
        {"lines": [{"product_id": 1, "quantity": 2}]},
        {"lines": "two mugs"},
    ],
)
def test_a_payload_breaking_the_contract_is_invalid(change):
    with pytest.raises(InvalidEvent):
        event_parse(json.dumps(envelope(**change)).encode())


@pytest.mark.parametrize(
    "envelope_change",
    [
        {"event_type": "order.teleported"},
        {"schema_version": 2},
        {"event_id": "not-a-uuid"},
        {"occurred_at": "2026-11-25T09:00:00"},
    ],
)
def test_a_broken_envelope_is_invalid(envelope_change):
    with pytest.raises(InvalidEvent):
        event_parse(json.dumps(envelope() | envelope_change).encode())


def test_an_event_is_counted_once_however_often_it_comes():
    # given
    event = event_parse(json.dumps(envelope()).encode())
    other = event_parse(json.dumps(envelope() | {"event_id": str(uuid.uuid4())}).encode())
    # when
    first = events_record(events=[event, event])
    second = events_record(events=[event, other])
    # then
    assert (first.counted, first.duplicates) == (1, 1)
    assert (second.counted, second.duplicates) == (1, 1)
    assert ProcessedEvent.objects.using("analytics").count() == 2
    minute = ActivityBucket.objects.using("analytics").get(granularity="minute")
    assert minute.orders_created == 2
