"""The catalogue: categories, products with their sellable stock, and stock holds."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ecommerce.outbox import OutboxEventBase


class Category(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    description = models.TextField(blank=True)
    # Money is integer minor units plus an ISO 4217 currency.
    price = models.PositiveIntegerField(help_text="In minor units (cents).")
    currency = models.CharField(max_length=3, default="USD")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    is_active = models.BooleanField("active", default=True, db_index=True)
    # The sellable count: a stock hold takes units out, a release puts them back.
    stock = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="product_stock_not_negative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
        ]
        indexes = [models.Index(fields=["price", "id"], name="product_price_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class StockHold(models.Model):
    class Status(models.TextChoices):
        HELD = "HELD"
        CONFIRMED = "CONFIRMED"
        RELEASED = "RELEASED"

    hold_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.hold_key} [{self.status}]"


class StockHoldLine(models.Model):
    hold = models.ForeignKey(StockHold, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hold", "product"], name="stock_hold_line_unique"),
        ]


class OutboxEvent(OutboxEventBase):
    """Domain events of the product service, written in the transaction that caused them."""

    class Meta(OutboxEventBase.Meta):
        indexes = [
            models.Index(
                fields=["id"],
                name="product_outbox_unpublished",
                condition=Q(published_at__isnull=True),
            )
        ]
