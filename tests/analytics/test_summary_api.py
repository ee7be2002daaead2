"""GET /api/analytics/summary: staff only, the error shape for everyone else, bad input refused."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from apps.analytics.events import event_parse
from apps.analytics.services import events_record
from apps.order.models import OutboxEvent as OrderOutbox
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def completed_order(order_id: int, *, total: int, product_id: int, quantity: int):
    row = OrderOutbox(
        event_id=uuid.uuid4(),
        event_type="order.completed",
        aggregate_type="order",
        aggregate_id=str(order_id),
        occurred_at=datetime(2026, 11, 25, 9, 30, 15, tzinfo=UTC),
        payload={
            "order_id": order_id,
            "user_id": 1,
            "total": total,
            "currency": "EUR",
            "lines": [
                {"product_id": product_id, "quantity": quantity, "unit_price": total // quantity}
            ],
        },
    )
    return event_parse(json.dumps(row.envelope()).encode())


def test_anonymous_is_401_and_a_customer_403_in_the_error_shape(api, client_for):
    # when
    anonymous = api.get("/api/analytics/summary")
    customer = client_for(UserFactory()).get("/api/analytics/summary")
    # then
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert customer.status_code == 403
    assert customer.json()["error"]["code"] == "permission_denied"


def test_staff_read_the_aggregates(client_for):
    # given
    staff = client_for(UserFactory(is_staff=True))
    events_record(
        events=[
            completed_order(1, total=3000, product_id=5, quantity=3),
            completed_order(2, total=1000, product_id=6, quantity=1),
        ]
    )
    # when
    response = staff.get("/api/analytics/summary", {"minutes": 1440 * 1, "hours": 24 * 14})
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["totals"]["orders_completed"] == 2
    assert body["totals"]["money"] == [
        {"currency": "EUR", "revenue": 4000, "captured": 0, "refunded": 0}
    ]
    assert [p["product_id"] for p in body["top_products"]["by_units"]] == [5, 6]
    assert body["events_processed"] == 2


def test_bad_query_parameters_are_400(client_for):
    staff = client_for(UserFactory(is_staff=True))
    for query in ({"minutes": "0"}, {"hours": "lots"}, {"top": "1000"}):
        response = staff.get("/api/analytics/summary", query)
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "validation_error"
