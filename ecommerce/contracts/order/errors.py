"""The order service's domain errors: what its port may raise, in-process or over gRPC."""

from __future__ import annotations

from ecommerce.contracts.errors import NotFound


class OrderNotFound(NotFound):
    """The order does not exist."""

    code = "order_not_found"
