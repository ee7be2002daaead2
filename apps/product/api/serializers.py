"""Shapes of the catalogue's public API."""

from rest_framework import serializers

from ecommerce.ports.product import ORDERINGS

MAX_PAGE_SIZE = 100


class CategoryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class ProductOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    price = serializers.IntegerField(help_text="Minor units (cents).")
    currency = serializers.CharField(help_text="ISO 4217.")
    category = serializers.CharField(allow_null=True, help_text="The category's slug.")
    available = serializers.BooleanField()


class ProductListInput(serializers.Serializer):
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Part of the name or description, or the exact SKU (case-insensitive).",
    )
    category = serializers.CharField(
        required=False, allow_blank=True, max_length=120, help_text="A category's slug or id."
    )
    ordering = serializers.ChoiceField(choices=ORDERINGS, required=False, default="name")
    page = serializers.IntegerField(required=False, min_value=1, max_value=100_000, default=1)
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=20
    )


    def to_internal_value(self, data):
        # DRF reads `?ordering=` as "not given" and falls back to the default; the schema says
        # a given parameter has a value, so an empty one is refused.
        blank = {
            name: ["This field may not be blank."]
            for name in ("ordering", "page", "page_size")
            if name in data and data.get(name) == ""
        }
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


class ProductPageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProductOutput(many=True)
