"""Orders and their lines; the saga that completes them lives beside them in the order database."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from ecommerce.transports.outbox import OutboxEventBase

# The database alias of this app: the router sends its models there, and every transaction,
# raw cursor and outbox write of the app names it.
DB = "order"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        COMPLETED = "COMPLETED"
        FAILED = "FAILED"

    user_id = models.BigIntegerField(db_index=True)
    # The client's Idempotency-Key: the same key from the same user is the same order.
    idempotency_key = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=64, blank=True, default="")
    total = models.PositiveBigIntegerField(default=0, help_text="Minor units.")
    currency = models.CharField(max_length=3, blank=True, default="")
    payment_method = models.CharField(max_length=100)
    # The trace of the request that placed it (hex), where tracing is on: the console links it.
    trace_id = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "idempotency_key"], name="order_unique_idempotency_key"
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.pk} [{self.status}]"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product_id = models.BigIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.PositiveIntegerField()

    # What a line is, wherever one is copied from or to: a cart or reserved line, the order's
    # port and its events.
    FIELDS = ("product_id", "sku", "name", "quantity", "unit_price")

    class Meta:
        ordering = ["id"]

    @classmethod
    def of(cls, order: Order, line: Any) -> OrderLine:
        """A line of `order` with the fields of `line` (any object that has them)."""
        return cls(order=order, **line_values(line))


def line_values(line: Any) -> dict[str, Any]:
    """An order line's fields, read from `line` (a model, a DTO or a record)."""
    return {name: getattr(line, name) for name in OrderLine.FIELDS}


class OutboxEvent(OutboxEventBase):
    """Domain events of the order service, written in the transaction that caused them."""

    class Meta(OutboxEventBase.Meta):
        indexes = [
            models.Index(
                fields=["id"],
                name="order_outbox_unpublished",
                condition=Q(published_at__isnull=True),
            )
        ]


class CheckoutSaga(models.Model):
    """The orchestrator's memory: where the checkout stands, written before each next command."""

    class State(models.TextChoices):
        RUNNING = "RUNNING"
        COMPENSATING = "COMPENSATING"
        COMPLETED = "COMPLETED"
        FAILED = "FAILED"

    TERMINAL = (State.COMPLETED, State.FAILED)

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="saga")
    state = models.CharField(max_length=12, choices=State.choices, default=State.RUNNING)
    step = models.CharField(max_length=32)
    failure_reason = models.CharField(max_length=64, blank=True, default="")
    payment_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "updated_at"], name="saga_state_updated_idx")]

    def __str__(self) -> str:
        return f"saga of order {self.order_id}: {self.state} at {self.step}"

    @property
    def reservation_key(self) -> str:
        return f"order-{self.order_id}"

    @property
    def hold_key(self) -> str:
        return f"order-{self.order_id}"

    @property
    def charge_key(self) -> str:
        return f"order-{self.order_id}-charge"

    @property
    def refund_key(self) -> str:
        return f"order-{self.order_id}-refund"


class SagaStep(models.Model):
    """One step's outcome. A step's row exists before its command leaves, so a crash is resumable."""

    class Status(models.TextChoices):
        STARTED = "STARTED"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    saga = models.ForeignKey(CheckoutSaga, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STARTED)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["saga", "name"], name="saga_step_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.status}]"
