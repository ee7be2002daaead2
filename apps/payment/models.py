"""Payments and refunds, with every Stripe object id and status the provider returned."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ecommerce.outbox import OutboxEventBase


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        SUCCEEDED = "SUCCEEDED"
        DECLINED = "DECLINED"
        FAILED = "FAILED"
        PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
        REFUNDED = "REFUNDED"

    # Orders live in the order database: referenced by id only.
    order_id = models.BigIntegerField(db_index=True)
    amount = models.PositiveBigIntegerField(help_text="Minor units.")
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=100)
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    provider_id = models.CharField("Stripe PaymentIntent", max_length=100, blank=True, default="")
    provider_status = models.CharField(max_length=40, blank=True, default="")
    decline_code = models.CharField(max_length=60, blank=True, default="")
    failure_message = models.CharField(max_length=300, blank=True, default="")
    refunded_amount = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("amount")),
                name="payment_refund_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} for order {self.order_id} [{self.status}]"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveBigIntegerField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    provider_id = models.CharField("Stripe Refund", max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class OutboxEvent(OutboxEventBase):
    """Domain events of the payment service, written in the transaction that caused them."""

    class Meta(OutboxEventBase.Meta):
        indexes = [
            models.Index(
                fields=["id"],
                name="payment_outbox_unpublished",
                condition=Q(published_at__isnull=True),
            )
        ]
