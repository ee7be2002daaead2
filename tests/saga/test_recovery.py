"""Nothing needs a person to finish a saga: start-up recovery, the periodic sweep, the operator."""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory
from django.utils import timezone

from apps.cart.models import Cart, CartReservation
from apps.order.admin import CheckoutSagaAdmin
from apps.order.models import CheckoutSaga, Order, SagaStep
from apps.product.models import Product, StockHold
from ecommerce.wiring import resolver
from tests.factories import ProductFactory, UserFactory
from tests.fixtures.broker import purge_queues
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _admin_request():
    request = RequestFactory().post("/admin/order/checkoutsaga/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    request._messages = type("Messages", (), {"add": lambda *a, **k: None})()
    return request


def test_a_worker_resumes_every_unfinished_saga_when_it_starts(start_worker):
    # given: two checkouts whose first command was lost with the broker's queue
    product = ProductFactory(stock=1)
    orders = []
    for key in ("a", "b"):
        _, client = shopper((product.pk, 1))
        orders.append(checkout(client, key))
    Product.objects.filter(pk=product.pk).update(stock=0)
    purge_queues()
    assert set(Order.objects.values_list("status", flat=True)) == {"PENDING"}
    # when
    worker = start_worker()
    # then
    finished = wait_for_orders(orders, workers=[worker])
    assert [o.failure_reason for o in finished] == ["out_of_stock", "out_of_stock"]


def test_the_sweep_drives_a_saga_whose_start_was_never_sent(start_worker, monkeypatch):
    # given: a worker running the periodic sweep, and the broker unreachable from the edge
    worker = start_worker(beat=True, env={"SAGA_SWEEP_SECONDS": "1", "SAGA_STUCK_SECONDS": "1"})
    monkeypatch.setenv("ECOMMERCE_FAILPOINTS", "order.start_saga=error")
    product = ProductFactory(stock=1)
    _, client = shopper((product.pk, 1))
    Product.objects.filter(pk=product.pk).update(stock=0)
    # when
    order_id = checkout(client, "lost-start")
    # then: the order was kept, and the sweep finishes it
    [order] = wait_for_orders([order_id], timeout=30, workers=[worker])
    assert order.failure_reason == "out_of_stock"


def test_an_operator_forces_compensation_of_a_running_saga(start_worker):
    # given: a saga that has not been picked up yet
    product = ProductFactory(stock=3)
    user, client = shopper((product.pk, 2))
    order_id = checkout(client, "cancel-me")
    purge_queues()
    # when
    admin = CheckoutSagaAdmin(CheckoutSaga, site)
    admin.force_compensation(_admin_request(), CheckoutSaga.objects.filter(order_id=order_id))
    worker = start_worker()
    # then: undone, and a command that arrives late under its keys changes nothing
    [order] = wait_for_orders([order_id], workers=[worker])
    assert (order.status, order.failure_reason) == ("FAILED", "cancelled_by_operator")
    assert StockHold.objects.get(hold_key=f"order-{order_id}").status == "RELEASED"
    assert CartReservation.objects.get(reservation_key=f"order-{order_id}").status == "RELEASED"
    assert Product.objects.get(pk=product.pk).stock == 3
    assert Cart.objects.get(user_id=user.pk).reservation_key == ""


def test_the_retry_action_drives_a_stalled_saga(start_worker, monkeypatch):
    # given: a worker past its start-up recovery, no sweep, and a saga whose start was lost
    worker = start_worker()
    product = ProductFactory(stock=1)
    _, client = shopper((product.pk, 1))
    Product.objects.filter(pk=product.pk).update(stock=0)
    monkeypatch.setenv("ECOMMERCE_FAILPOINTS", "order.start_saga=error")
    order_id = checkout(client, "stalled")
    monkeypatch.delenv("ECOMMERCE_FAILPOINTS")
    assert Order.objects.get(pk=order_id).status == "PENDING"
    # when
    admin = CheckoutSagaAdmin(CheckoutSaga, site)
    admin.retry(_admin_request(), CheckoutSaga.objects.filter(order_id=order_id))
    # then
    [order] = wait_for_orders([order_id], workers=[worker])
    assert order.failure_reason == "out_of_stock"


def test_a_saga_past_its_timeout_is_compensated(start_worker, monkeypatch):
    # given: a saga that never started and is now older than its timeout
    product = ProductFactory(stock=2)
    user, client = shopper((product.pk, 1))
    monkeypatch.setenv("ECOMMERCE_FAILPOINTS", "order.start_saga=error")
    order_id = checkout(client, "too-old")
    monkeypatch.delenv("ECOMMERCE_FAILPOINTS")
    CheckoutSaga.objects.filter(order_id=order_id).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    # when: a worker starts and resumes it
    worker = start_worker(env={"SAGA_TIMEOUT_SECONDS": "60"})
    # then
    [order] = wait_for_orders([order_id], workers=[worker])
    assert (order.status, order.failure_reason) == ("FAILED", "timeout")
    assert Cart.objects.get(user_id=user.pk).reservation_key == ""
    assert Product.objects.get(pk=product.pk).stock == 2


def test_sagas_in_admin_filter_by_state_and_step_and_show_their_history(monkeypatch):
    # given: a saga that has recorded its first step
    product = ProductFactory(stock=1)
    _, client = shopper((product.pk, 1))
    monkeypatch.setenv("ECOMMERCE_FAILPOINTS", "order.start_saga=error")
    order_id = checkout(client, "admin-view")
    saga = CheckoutSaga.objects.get(order_id=order_id)
    SagaStep.objects.create(
        saga=saga, name="reserve_cart", started_at=timezone.now(), error="cart service slow"
    )
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    # when
    listing = staff.get(
        "/admin/order/checkoutsaga/", {"state__exact": "RUNNING", "step__exact": "reserve_cart"}
    )
    other = staff.get("/admin/order/checkoutsaga/", {"state__exact": "FAILED"})
    page = staff.get(f"/admin/order/checkoutsaga/{saga.pk}/change/")
    # then
    assert listing.status_code == 200
    assert "1 checkout saga" in listing.content.decode()
    assert "0 checkout sagas" in other.content.decode()
    assert page.status_code == 200
    assert "cart service slow" in page.content.decode()
    assert "Force compensation" in listing.content.decode()


def test_compensation_ends_even_when_the_cart_was_already_committed(start_worker):
    # given: a saga stopped after the cart committed its lines, then force-compensated
    product = ProductFactory(stock=3)
    user, client = shopper((product.pk, 1))
    order_id = checkout(client, "committed-cart")
    purge_queues()
    key = f"order-{order_id}"
    resolver.cart().reserve(user_id=user.pk, reservation_key=key)
    resolver.cart().commit(reservation_key=key)
    admin = CheckoutSagaAdmin(CheckoutSaga, site)
    admin.force_compensation(_admin_request(), CheckoutSaga.objects.filter(order_id=order_id))
    # when
    worker = start_worker()
    # then: the release finds nothing to give back, and the saga ends instead of looping
    [order] = wait_for_orders([order_id], workers=[worker])
    assert (order.status, order.failure_reason) == ("FAILED", "cancelled_by_operator")
    release = SagaStep.objects.get(saga__order_id=order_id, name="release_cart")
    assert (release.status, release.attempts, release.result) == (
        "SUCCEEDED",
        1,
        {"status": "COMMITTED"},
    )
