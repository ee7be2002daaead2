"""Orders and their lines; the saga that completes them lives beside them in the order database."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ecommerce.outbox import OutboxEventBase


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

    class Meta:
        ordering = ["id"]


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
