"""A mixed run of shopping for the analytics tests, and the truth computed from its databases.

Every event is written by the service that owns it: carts and the catalogue through their
services, payments and refunds through the payment service against the local Stripe server,
and the order's events by the functions the checkout saga calls (the saga itself is left out,
so that a run of hundreds of orders takes seconds). Times are spread over the last few hours so
the minute and hour buckets have something to tell apart.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Max

from apps.cart import services as cart_services
from apps.cart.models import Cart
from apps.cart.models import OutboxEvent as CartOutbox
from apps.order import events as order_events
from apps.order.models import Order, OrderLine
from apps.order.models import OutboxEvent as OrderOutbox
from apps.payment import services as payment_services
from apps.payment.models import OutboxEvent as PaymentOutbox
from apps.payment.models import Payment, Refund
from apps.product import services as product_services
from ecommerce.contracts.payment.errors import PaymentDeclined

OUTCOMES = ("completed", "completed", "completed", "refunded", "declined", "out_of_stock")
# Test cards the local Stripe server declines, each with its own decline code.
DECLINING_METHODS = ("pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds")
STEP_OF_REASON = {"out_of_stock": "hold_stock", "payment_declined": "charge_payment"}


@contextmanager
def _dated(model, using: str, at: datetime):
    """The events written inside the block are dated `at` (the run is spread over hours)."""
    last = model.objects.using(using).aggregate(last=Max("pk"))["last"] or 0
    yield
    model.objects.using(using).filter(pk__gt=last).update(occurred_at=at)


def catalogue(count: int = 6) -> list:
    return [
        product_services.product_create(
            sku=f"RUN-{n}", name=f"Thing {n}", price=250 * (n + 1), stock=100_000
        )
        for n in range(count)
    ]


def shop(*, rng: random.Random, products: list, user_id: int, at: datetime, outcome: str):
    """One shopper: fills a cart; some leave, the rest check out with the given outcome."""
    Cart.objects.filter(user_id=user_id).update(reservation_key="")
    chosen = rng.sample(products, rng.randint(1, 3))
    for product in chosen:
        cart_services.cart_add_item(
            user_id=user_id, product_id=product.pk, quantity=rng.randint(1, 3)
        )
    if rng.random() < 0.2:
        cart_services.cart_remove_item(user_id=user_id, product_id=chosen[0].pk)
        return
    if rng.random() < 0.15:
        return  # an abandoned cart: counts against conversion
    cart = Cart.objects.get(user_id=user_id)
    items = list(cart.items.all())
    if not items:
        return
    total = sum(i.quantity * i.unit_price for i in items)
    with transaction.atomic(using="order"):
        order = Order.objects.create(
            user_id=user_id,
            idempotency_key=f"run-{user_id}-{at.timestamp()}-{rng.random()}",
            total=total,
            currency="USD",
            payment_method="pm_card_visa",
        )
        OrderLine.objects.bulk_create(OrderLine.of(order, i) for i in items)
        Order.objects.filter(pk=order.pk).update(created_at=at)
        with _dated(OrderOutbox, "order", at):
            order_events.order_created(order)
    cart.items.all().delete()
    later = at + timedelta(seconds=2)
    if outcome == "out_of_stock":
        _fail(order, later, step="hold_stock", reason="out_of_stock")
        return
    declined = outcome == "declined"
    method = rng.choice(DECLINING_METHODS) if declined else "pm_card_visa"
    with _dated(PaymentOutbox, "payment", later):
        try:
            payment = payment_services.payment_charge(
                order_id=order.pk,
                amount=total,
                currency="USD",
                payment_method=method,
                idempotency_key=f"charge-{order.pk}",
            )
        except PaymentDeclined:
            payment = None
    if declined:
        assert payment is None
        _fail(order, later, step="charge_payment", reason="payment_declined")
        return
    with transaction.atomic(using="order"):
        Order.objects.filter(pk=order.pk).update(status=Order.Status.COMPLETED)
        order.refresh_from_db()
        with _dated(OrderOutbox, "order", later):
            order_events.order_completed(order)
    if outcome == "refunded":
        with _dated(PaymentOutbox, "payment", later + timedelta(seconds=30)):
            payment_services.payment_refund(
                payment_id=payment.pk,
                idempotency_key=f"refund-{payment.pk}",
                amount=total // 2 or total,
            )


def _fail(order: Order, at: datetime, *, step: str, reason: str) -> None:
    with transaction.atomic(using="order"):
        Order.objects.filter(pk=order.pk).update(status=Order.Status.FAILED, failure_reason=reason)
        order.refresh_from_db()
        with _dated(OrderOutbox, "order", at):
            order_events.saga_step_failed(order, step=step, reason=reason)
            order_events.order_failed(order)


def mixed_run(*, shoppers: int, seed: int, products: list, first_user: int = 1000) -> None:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=3)
    for n in range(shoppers):
        at = start + timedelta(seconds=rng.randint(0, 3 * 3600 - 60))
        user_id = first_user + n
        shop(rng=rng, products=products, user_id=user_id, at=at, outcome=rng.choice(OUTCOMES))


def outbox_total() -> int:
    from apps.product.models import OutboxEvent as ProductOutbox

    return sum(
        model.objects.using(alias).count()
        for model, alias in (
            (ProductOutbox, "product"),
            (CartOutbox, "cart"),
            (OrderOutbox, "order"),
            (PaymentOutbox, "payment"),
        )
    )


def _minute(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def _saga_step_failures(orders: list[Order]) -> Counter:
    from apps.order.models import SagaStep

    recorded = SagaStep.objects.using("order").filter(status=SagaStep.Status.FAILED)
    if recorded.exists():  # the checkout saga's own record of its steps
        return Counter((s.name, s.saga.failure_reason) for s in recorded.select_related("saga"))
    return Counter(
        (STEP_OF_REASON[o.failure_reason], o.failure_reason)
        for o in orders
        if o.status == Order.Status.FAILED
    )


def truth() -> dict:
    """What the aggregates must say, computed from the order, payment and cart databases."""
    orders = list(Order.objects.using("order").all())
    completed = [o for o in orders if o.status == Order.Status.COMPLETED]
    payments = list(Payment.objects.using("payment").all())
    units: Counter[int] = Counter()
    revenue: Counter[int] = Counter()
    for line in OrderLine.objects.using("order").filter(order__status=Order.Status.COMPLETED):
        units[line.product_id] += line.quantity
        revenue[line.product_id] += line.quantity * line.unit_price
    per_minute: defaultdict[datetime, Counter] = defaultdict(Counter)
    for order in orders:
        per_minute[_minute(order.created_at)]["orders_created"] += 1
    carting = set(
        CartOutbox.objects.using("cart")
        .filter(event_type="cart.item_added")
        .values_list("payload__user_id", flat=True)
    )
    buyers = {o.user_id for o in orders}
    return {
        "orders_created": len(orders),
        "orders_completed": len(completed),
        "orders_failed": sum(o.status == Order.Status.FAILED for o in orders),
        "revenue": sum(o.total for o in completed),
        "captured": sum(
            p.amount
            for p in payments
            if p.status
            in (
                Payment.Status.SUCCEEDED,
                Payment.Status.PARTIALLY_REFUNDED,
                Payment.Status.REFUNDED,
            )
        ),
        "refunded": sum(
            r.amount for r in Refund.objects.using("payment").filter(status=Refund.Status.SUCCEEDED)
        ),
        "payments_declined": sum(p.status == Payment.Status.DECLINED for p in payments),
        "failure_reasons": Counter(
            o.failure_reason for o in orders if o.status == Order.Status.FAILED
        ),
        "decline_codes": Counter(
            p.decline_code for p in payments if p.status == Payment.Status.DECLINED
        ),
        "saga_step_failures": _saga_step_failures(orders),
        "units": units,
        "product_revenue": revenue,
        "orders_per_minute": {k: v["orders_created"] for k, v in per_minute.items()},
        "shoppers_with_cart": len(carting),
        "shoppers_who_checked_out": len(carting & buyers),
    }


def assert_aggregates_match(expected: dict, *, per_minute: bool = True) -> None:
    """The summary the API serves says exactly what the databases say."""
    from apps.analytics.selectors import analytics_summary

    summary = analytics_summary(minutes=24 * 60, hours=24, top=100)
    totals = summary["totals"]
    for key in ("orders_created", "orders_completed", "orders_failed", "payments_declined"):
        assert totals[key] == expected[key], key
    (usd,) = totals["money"]
    assert (usd["revenue"], usd["captured"], usd["refunded"]) == (
        expected["revenue"],
        expected["captured"],
        expected["refunded"],
    )
    reasons = {r["reason"]: r["count"] for r in summary["orders"]["failure_reasons"]}
    assert reasons == dict(expected["failure_reasons"])
    declines = {r["reason"]: r["count"] for r in summary["payment_declines"]}
    assert declines == dict(expected["decline_codes"])
    steps = {(r["step"], r["reason"]): r["count"] for r in summary["saga_step_failures"]}
    assert steps == dict(expected["saga_step_failures"])
    by_units = {p["product_id"]: p["units"] for p in summary["top_products"]["by_units"]}
    assert by_units == dict(expected["units"])
    by_revenue = {p["product_id"]: p["revenue"] for p in summary["top_products"]["by_revenue"]}
    assert by_revenue == dict(expected["product_revenue"])
    assert [p["units"] for p in summary["top_products"]["by_units"]] == sorted(
        expected["units"].values(), reverse=True
    )
    by_minute = {
        datetime.fromisoformat(b["start"]): b["orders_created"]
        for b in summary["per_minute"]
        if b["orders_created"]
    }
    if per_minute:
        assert by_minute == expected["orders_per_minute"]
    assert sum(b["orders_created"] for b in summary["per_hour"]) == expected["orders_created"]
    hourly_revenue = sum(m["revenue"] for b in summary["per_hour"] for m in b["money"])
    assert hourly_revenue == expected["revenue"]
    conversion = summary["conversion"]
    assert conversion["shoppers_with_cart"] == expected["shoppers_with_cart"]
    assert conversion["shoppers_who_checked_out"] == expected["shoppers_who_checked_out"]
