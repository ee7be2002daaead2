"""Payments and refunds, with every Stripe object id and status the provider returned."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ecommerce.transports.outbox import OutboxEventBase

# The database alias of this app: the router sends its models there, and every transaction,
# raw cursor and outbox write of the app names it.
DB = "payment"


class Payment(models.Model):
    """One charge per idempotency key. The row is committed before Stripe is called.

    PENDING: written, Stripe not yet answered. UNAVAILABLE: Stripe could not be reached after
    the retries; nothing is known to have been charged, and charging again with the same key
    resumes exactly where it stopped (Stripe's idempotency makes that safe), while Stripe's
    webhook reconciles it should the charge have gone through. DECLINED and FAILED are final
    refusals; SUCCEEDED, PARTIALLY_REFUNDED and REFUNDED mean money was taken.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING"
        UNAVAILABLE = "UNAVAILABLE"
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
    provider_charge_id = models.CharField("Stripe Charge", max_length=100, blank=True, default="")
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
    """PENDING and UNAVAILABLE mean the same as for a payment: repeat with the same key."""

    class Status(models.TextChoices):
        PENDING = "PENDING"
        UNAVAILABLE = "UNAVAILABLE"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveBigIntegerField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    provider_id = models.CharField("Stripe Refund", max_length=100, blank=True, default="")
    provider_status = models.CharField(max_length=40, blank=True, default="")
    failure_message = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class StripeEvent(models.Model):
    """Every webhook event received, by Stripe's id: a redelivered event is recognised here."""

    class Outcome(models.TextChoices):
        APPLIED = "APPLIED"
        STALE = "STALE"  # older news than the payment's state: nothing moved backwards
        UNKNOWN_PAYMENT = "UNKNOWN_PAYMENT"
        IGNORED = "IGNORED"  # a type this service does not act on

    event_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=100)
    provider_id = models.CharField("Stripe object", max_length=100, blank=True, default="")
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="stripe_events"
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    payload = models.JSONField()
    stripe_created = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


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
