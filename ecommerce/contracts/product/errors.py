"""The product service's domain errors: what its port may raise, in-process or over gRPC."""

from __future__ import annotations

from ecommerce.contracts.errors import DomainError, NotFound


class ProductNotFound(NotFound):
    """The product does not exist."""

    code = "product_not_found"


class ProductUnavailable(DomainError):
    """The product is not for sale."""

    code = "product_unavailable"
    http_status = 422


class OutOfStock(DomainError):
    """Not enough stock for the requested quantity."""

    code = "out_of_stock"
    http_status = 409
