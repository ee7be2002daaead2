"""Live aggregates of the domain events, and the events already counted (the de-duplication)."""

from __future__ import annotations

from django.db import models

# The database alias of this app: the router sends its models there, and every transaction,
# raw cursor and outbox write of the app names it.
DB = "analytics"


class ProcessedEvent(models.Model):
    """One row per event counted; its unique event id makes a redelivered event count once."""

    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    # When the aggregates including this event were written (the end of the event's journey).
    processed_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class Granularity(models.TextChoices):
    MINUTE = "minute"
    HOUR = "hour"


class ActivityBucket(models.Model):
    """Counts of what happened in one minute or one hour (by the events' occurred-at)."""

    granularity = models.CharField(max_length=6, choices=Granularity.choices)
    start = models.DateTimeField()
    orders_created = models.BigIntegerField(default=0)
    orders_completed = models.BigIntegerField(default=0)
    orders_failed = models.BigIntegerField(default=0)
    payments_succeeded = models.BigIntegerField(default=0)
    payments_declined = models.BigIntegerField(default=0)
    payments_refunded = models.BigIntegerField(default=0)
    cart_items_added = models.BigIntegerField(default=0)
    cart_items_removed = models.BigIntegerField(default=0)
    stock_changes = models.BigIntegerField(default=0)
    saga_steps_failed = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["granularity", "start"]
        constraints = [
            models.UniqueConstraint(fields=["granularity", "start"], name="activity_bucket_unique")
        ]

    COUNTERS = (
        "orders_created",
        "orders_completed",
        "orders_failed",
        "payments_succeeded",
        "payments_declined",
        "payments_refunded",
        "cart_items_added",
        "cart_items_removed",
        "stock_changes",
        "saga_steps_failed",
    )


class RevenueBucket(models.Model):
    """Money in one minute or hour, per currency, in minor units.

    `revenue` is the total of the orders completed; `captured` and `refunded` are what the
    payment service took and gave back.
    """

    granularity = models.CharField(max_length=6, choices=Granularity.choices)
    start = models.DateTimeField()
    currency = models.CharField(max_length=3)
    revenue = models.BigIntegerField(default=0)
    captured = models.BigIntegerField(default=0)
    refunded = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["granularity", "start", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "start", "currency"], name="revenue_bucket_unique"
            )
        ]

    COUNTERS = ("revenue", "captured", "refunded")


class FailureCount(models.Model):
    """Why things failed: orders by reason, saga steps by step and reason, declines by code."""

    class Kind(models.TextChoices):
        ORDER = "order"
        SAGA_STEP = "saga_step"
        PAYMENT_DECLINE = "payment_decline"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    step = models.CharField(max_length=64, blank=True, default="")
    reason = models.CharField(max_length=200)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "step", "reason"], name="failure_count_unique")
        ]

    COUNTERS = ("count",)


class ProductSales(models.Model):
    """Units and revenue of completed orders' lines, per product and currency."""

    product_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    units = models.BigIntegerField(default=0)
    revenue = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product_id", "currency"], name="product_sales_unique")
        ]

    COUNTERS = ("units", "revenue")


class CatalogueEntry(models.Model):
    """The latest known name of each product, from the product events, to label top products."""

    product_id = models.BigIntegerField(unique=True)
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    # Only a newer event overwrites, so a late duplicate cannot roll a name back.
    as_of = models.DateTimeField()


class Shopper(models.Model):
    """Per user: did they put something in a cart, did they check out (the conversion funnel)."""

    user_id = models.BigIntegerField(unique=True)
    added_to_cart = models.BooleanField(default=False)
    checked_out = models.BooleanField(default=False)
