"""Reads of the aggregates: the summary the analytics API serves."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, Sum
from django.utils import timezone

from apps.analytics.models import (
    DB,
    ActivityBucket,
    CatalogueEntry,
    FailureCount,
    Granularity,
    ProcessedEvent,
    ProductSales,
    RevenueBucket,
    Shopper,
)


def _series(granularity: str, since: datetime) -> list[dict[str, Any]]:
    money: defaultdict[datetime, list[dict]] = defaultdict(list)
    for row in RevenueBucket.objects.using(DB).filter(granularity=granularity, start__gte=since):
        money[row.start].append(
            {
                "currency": row.currency,
                "revenue": row.revenue,
                "captured": row.captured,
                "refunded": row.refunded,
            }
        )
    return [
        {"start": bucket.start.isoformat()}
        | {c: getattr(bucket, c) for c in ActivityBucket.COUNTERS}
        | {"money": money.get(bucket.start, [])}
        for bucket in ActivityBucket.objects.using(DB)
        .filter(granularity=granularity, start__gte=since)
        .order_by("start")
    ]


def totals() -> dict[str, Any]:
    """All-time sums (hour buckets hold every event once, like minute buckets do)."""
    hours = ActivityBucket.objects.using(DB).filter(granularity=Granularity.HOUR)
    sums = hours.aggregate(**{c: Sum(c) for c in ActivityBucket.COUNTERS})
    money = (
        RevenueBucket.objects.using(DB)
        .filter(granularity=Granularity.HOUR)
        .values("currency")
        .annotate(revenue=Sum("revenue"), captured=Sum("captured"), refunded=Sum("refunded"))
        .order_by("currency")
    )
    return {c: sums[c] or 0 for c in ActivityBucket.COUNTERS} | {"money": list(money)}


def _failures(kind: str) -> list[dict[str, Any]]:
    rows = FailureCount.objects.using(DB).filter(kind=kind).order_by("-count", "step", "reason")
    if kind == FailureCount.Kind.SAGA_STEP:
        return [{"step": r.step, "reason": r.reason, "count": r.count} for r in rows]
    return [{"reason": r.reason, "count": r.count} for r in rows]


def top_products(*, order_by: str, limit: int) -> list[dict[str, Any]]:
    rows = list(ProductSales.objects.using(DB).order_by(f"-{order_by}", "product_id")[:limit])
    names = {
        e.product_id: e
        for e in CatalogueEntry.objects.using(DB).filter(
            product_id__in=[r.product_id for r in rows]
        )
    }
    return [
        {
            "product_id": r.product_id,
            "sku": names[r.product_id].sku if r.product_id in names else "",
            "name": names[r.product_id].name if r.product_id in names else "",
            "currency": r.currency,
            "units": r.units,
            "revenue": r.revenue,
        }
        for r in rows
    ]


def conversion() -> dict[str, Any]:
    shoppers = Shopper.objects.using(DB)
    carts = shoppers.filter(added_to_cart=True).count()
    converted = shoppers.filter(added_to_cart=True, checked_out=True).count()
    return {
        "shoppers_with_cart": carts,
        "shoppers_who_checked_out": converted,
        "rate": round(converted / carts, 4) if carts else 0.0,
    }


def analytics_summary(*, minutes: int = 60, hours: int = 24, top: int = 10) -> dict[str, Any]:
    now = timezone.now()
    processed = ProcessedEvent.objects.using(DB)
    all_time = totals()
    return {
        "generated_at": now.isoformat(),
        "events_processed": processed.count(),
        "last_processed_at": processed.aggregate(at=Max("processed_at"))["at"],
        "totals": all_time,
        "orders": {
            "created": all_time["orders_created"],
            "completed": all_time["orders_completed"],
            "failed": all_time["orders_failed"],
            "failure_reasons": _failures(FailureCount.Kind.ORDER),
        },
        "per_minute": _series(
            Granularity.MINUTE,
            (now - timedelta(minutes=minutes - 1)).replace(second=0, microsecond=0),
        ),
        "per_hour": _series(
            Granularity.HOUR,
            (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0),
        ),
        "top_products": {
            "by_units": top_products(order_by="units", limit=top),
            "by_revenue": top_products(order_by="revenue", limit=top),
        },
        "conversion": conversion(),
        "saga_step_failures": _failures(FailureCount.Kind.SAGA_STEP),
        "payment_declines": _failures(FailureCount.Kind.PAYMENT_DECLINE),
    }
