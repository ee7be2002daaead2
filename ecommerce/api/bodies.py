"""Pieces of response bodies that more than one app's API answers with.

The views build their bodies as plain dicts (a DRF serializer's `.data` costs several times as
much on the hot paths); the serializers stay as the schema the OpenAPI document is made from.
"""

from __future__ import annotations

from ecommerce.contracts.cart.port import CartLine
from ecommerce.contracts.order.port import OrderLineData


def line_body(line: CartLine | OrderLineData) -> dict:
    """A cart's or an order's line: the product as it was when added, in minor units."""
    return {
        "product_id": line.product_id,
        "sku": line.sku,
        "name": line.name,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "line_total": line.line_total,
    }
