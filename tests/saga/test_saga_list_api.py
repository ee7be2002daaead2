"""GET /api/orders/sagas: the sagas that need a look, for staff only."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.utils import timezone

from apps.order.models import CheckoutSaga, Order
from tests.factories import ProductFactory, UserFactory
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]) == {"code", "message", "details"}


def _admin_url(saga_id: int) -> str | None:
    """The saga's admin page, where the edge's admin holds the order's data (a process without
    the order's database leaves its models out of the admin: ecommerce/urls.py)."""
    if not admin.site.is_registered(CheckoutSaga):
        return None
    return f"/admin/order/checkoutsaga/{saga_id}/change/"


def test_only_staff_may_list_the_sagas(api, client_for):
    # given
    shopper_api = client_for(UserFactory())
    # when / then
    _error(api.get("/api/orders/sagas?state=failed"), 401, "not_authenticated")
    _error(shopper_api.get("/api/orders/sagas?state=failed"), 403, "permission_denied")


def test_an_unknown_list_or_page_size_is_a_400(client_for):
    staff = client_for(UserFactory(is_staff=True))
    for query in ("", "?state=running", "?state=failed&page_size=101", "?state=failed&page=0"):
        _error(staff.get("/api/orders/sagas" + query), 400, "validation_error")


def test_staff_see_a_declined_checkout_failed_and_a_stale_one_stuck(
    start_worker, client_for, settings
):
    # given: a checkout declined by the card, driven to its end by a real worker
    worker = start_worker()
    product = ProductFactory(stock=10, price=800)
    _, declined_api = shopper((product.pk, 1))
    declined_id = checkout(declined_api, "declined", "pm_card_chargeDeclined")
    [declined] = wait_for_orders([declined_id], workers=[worker])
    assert declined.failure_reason == "payment_declined"
    worker.stop()
    # and a checkout whose saga has not moved for longer than the stuck threshold
    _, stale_api = shopper((product.pk, 1))
    stale_id = checkout(stale_api, "stale")
    long_ago = timezone.now() - timedelta(seconds=settings.SAGA_STUCK_SECONDS + 60)
    CheckoutSaga.objects.filter(order_id=stale_id).update(updated_at=long_ago, created_at=long_ago)
    # and one that is unfinished but moved just now: not stuck
    _, fresh_api = shopper((product.pk, 1))
    fresh_id = checkout(fresh_api, "fresh")
    staff = client_for(UserFactory(is_staff=True))
    # when
    failed = staff.get("/api/orders/sagas?state=failed")
    stuck = staff.get("/api/orders/sagas?state=stuck")
    compensating = staff.get("/api/orders/sagas?state=compensating")
    # then
    assert failed.status_code == 200, failed.content
    [row] = failed.json()["results"]
    saga = CheckoutSaga.objects.get(order_id=declined_id)
    assert row == {
        "saga_id": saga.pk,
        "order_id": declined_id,
        "user_id": declined.user_id,
        "state": "FAILED",
        "step": "done",
        "failure_reason": "payment_declined",
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "finished_at": row["finished_at"],
        "stuck": False,
        "admin_url": _admin_url(saga.pk),
    }
    assert row["finished_at"] is not None
    assert failed.json()["count"] == 1
    assert [r["order_id"] for r in stuck.json()["results"]] == [stale_id]
    assert stuck.json()["results"][0]["stuck"] is True
    assert stuck.json()["results"][0]["state"] == "RUNNING"
    assert fresh_id not in {r["order_id"] for r in stuck.json()["results"]}
    assert compensating.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert Order.objects.get(pk=stale_id).status == "PENDING"


def test_the_list_is_paged_latest_moved_first(client_for):
    # given: three checkouts whose sagas ended FAILED, moved a minute apart
    product = ProductFactory(stock=10)
    ids = []
    for n in range(3):
        _, client = shopper((product.pk, 1))
        ids.append(checkout(client, f"paged-{n}"))
    now = timezone.now()
    for n, order_id in enumerate(ids):
        CheckoutSaga.objects.filter(order_id=order_id).update(
            state="FAILED", step="done", updated_at=now - timedelta(minutes=3 - n)
        )
    staff = client_for(UserFactory(is_staff=True))
    # when
    first = staff.get("/api/orders/sagas?state=failed&page_size=2").json()
    second = staff.get("/api/orders/sagas?state=failed&page_size=2&page=2").json()
    past = staff.get("/api/orders/sagas?state=failed&page_size=2&page=3")
    # then
    assert [r["order_id"] for r in first["results"]] == [ids[2], ids[1]]
    assert first["count"] == 3
    assert first["next"].endswith("page=2") and first["previous"] is None
    assert [r["order_id"] for r in second["results"]] == [ids[0]]
    assert second["next"] is None and second["previous"].endswith("page=1")
    _error(past, 404, "not_found")
