"""What must hold after any fault: every saga ended, nothing charged twice, stock and money agree."""

from __future__ import annotations

import time
from collections.abc import Callable

from apps.cart.models import Cart
from apps.order.models import CheckoutSaga, Order
from apps.payment.models import Payment
from apps.product.models import Product


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.05)


def assert_consistent(orders: list[Order], *, charges_before: dict, stripe, stock: dict) -> None:
    """`orders` all ended; each completed one charged exactly once at the Stripe server (counted
    there, against its counts before the run), each failed one not charged or refunded; stock is
    what it was (`stock`: product id -> units at the start) minus what completed orders bought."""
    assert all(o.status in (Order.Status.COMPLETED, Order.Status.FAILED) for o in orders)
    sagas = CheckoutSaga.objects.filter(order_id__in=[o.pk for o in orders])
    assert all(s.state in CheckoutSaga.TERMINAL for s in sagas), [str(s) for s in sagas]
    charges_after = stripe.stats()["charges_by_order"]
    bought: dict[int, int] = dict.fromkeys(stock, 0)
    for order in orders:
        charged = charges_after.get(str(order.pk), 0) - charges_before.get(str(order.pk), 0)
        payments = list(Payment.objects.filter(order_id=order.pk))
        if order.status == Order.Status.COMPLETED:
            assert charged == 1, f"order {order.pk} charged {charged} times"
            assert [p.status for p in payments] == ["SUCCEEDED"], order.pk
            for line in order.lines.all():
                bought[line.product_id] += line.quantity
        else:
            assert charged <= 1, f"order {order.pk} charged {charged} times"
            assert not [p for p in payments if p.status == "SUCCEEDED"], order.pk
            if charged:
                assert [p.status for p in payments if p.status == "REFUNDED"] == ["REFUNDED"]
    completed = [o for o in orders if o.status == Order.Status.COMPLETED]
    succeeded = Payment.objects.filter(order_id__in=[o.pk for o in orders], status="SUCCEEDED")
    assert succeeded.count() == len(completed)
    for product_id, start in stock.items():
        assert Product.objects.get(pk=product_id).stock == start - bought[product_id]
    assert not Cart.objects.exclude(reservation_key="").exists()
