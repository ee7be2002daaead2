"""Shapes of the cart's public API."""

from rest_framework import serializers

from ecommerce.api.fields import StrictIntegerField
from ecommerce.contracts.cart.port import MAX_LINE_QUANTITY

MAX_ID = 2**63 - 1


class CartItemAddInput(serializers.Serializer):
    product_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartItemUpdateInput(serializers.Serializer):
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartLineOutput(serializers.Serializer):
    product_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.IntegerField(help_text="Minor units, as when added.")
    line_total = serializers.IntegerField()


class CartOutput(serializers.Serializer):
    items = CartLineOutput(many=True)
    total = serializers.IntegerField()
    currency = serializers.CharField()
