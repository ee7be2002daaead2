"""The catalogue: categories, products with their sellable stock, and stock holds."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from ecommerce.transports.outbox import OutboxEventBase

# The database alias of this app: the router sends its models there, and every transaction,
# raw cursor and outbox write of the app names it.
DB = "product"


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
    name = models.CharField(max_length=200)
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
        # One index per ordering of the list, alone and under a category filter, each ending in
        # the id that breaks ties: a page, at any depth, is a range of one index (docs/database.md).
        # Search has its own: SKUs by their upper case, words in a GIN index over a tsvector
        # column that only PostgreSQL has (migration 0003; the model never loads it).
        indexes = [
            models.Index(fields=["price", "id"], name="product_price_idx"),
            models.Index(fields=["name", "id"], name="product_name_id_idx"),
            # Only products on sale, which is what the list filters by: the bounded count of a
            # category then reads the index alone, never the table.
            models.Index(
                fields=["category", "name", "id"],
                name="product_category_name_idx",
                condition=Q(is_active=True),
            ),
            models.Index(
                fields=["category", "price", "id"],
                name="product_category_price_idx",
                condition=Q(is_active=True),
            ),
            models.Index(
                fields=["category", "id"],
                name="product_category_id_idx",
                condition=Q(is_active=True),
            ),
            models.Index(Upper("sku"), name="product_sku_upper_idx"),
        ]

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
