"""Carts: one per user, lines with a price snapshot, and reservations that lock it for checkout."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ecommerce.transports.outbox import OutboxEventBase

# The database alias of this app: the router sends its models there, and every transaction,
# raw cursor and outbox write of the app names it.
DB = "cart"


class Cart(models.Model):
    # Users live in the edge's database: referenced by id, never by foreign key.
    user_id = models.BigIntegerField(unique=True)
    # Set while a checkout holds the cart; nobody may change its lines meanwhile.
    reservation_key = models.CharField(max_length=200, blank=True, default="")
    currency = models.CharField(max_length=3, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"cart of user {self.user_id}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product_id = models.BigIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.PositiveIntegerField(help_text="Price when added, in minor units.")
    currency = models.CharField(max_length=3)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product_id"], name="cart_item_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_item_quantity_positive"),
        ]


class CartReservation(models.Model):
    class Status(models.TextChoices):
        RESERVED = "RESERVED"
        COMMITTED = "COMMITTED"
        RELEASED = "RELEASED"

    reservation_key = models.CharField(max_length=200, unique=True)
    user_id = models.BigIntegerField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    # The lines as they were reserved: what the order is made of.
    items = models.JSONField(default=list)
    currency = models.CharField(max_length=3, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.reservation_key} [{self.status}]"


class OutboxEvent(OutboxEventBase):
    """Domain events of the cart service, written in the transaction that caused them."""

    class Meta(OutboxEventBase.Meta):
        indexes = [
            models.Index(
                fields=["id"],
                name="cart_outbox_unpublished",
                condition=Q(published_at__isnull=True),
            )
        ]
