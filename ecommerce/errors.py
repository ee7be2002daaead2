"""Domain exceptions shared by every adapter, so a caller cannot tell in-process from remote.

Standard library only: these cross the gRPC boundary by `code` and are rendered to REST clients
as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a port may raise. `code` is stable and machine-readable."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = details or {}

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.message!r}, {self.details!r})"


class InvalidRequest(DomainError):
    """The request is not valid."""

    code = "invalid_request"
    http_status = 400


class NotFound(DomainError):
    """The resource does not exist."""

    code = "not_found"
    http_status = 404


class PermissionDenied(DomainError):
    """The caller may not do this."""

    code = "permission_denied"
    http_status = 403


class Conflict(DomainError):
    """The request conflicts with the current state."""

    code = "conflict"
    http_status = 409


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


class CartEmpty(Conflict):
    """The cart has no items."""

    # the request is well formed; the cart's state is what refuses it
    code = "cart_empty"


class CartLocked(Conflict):
    """The cart is reserved by a checkout in progress."""

    code = "cart_locked"


class CartItemNotFound(NotFound):
    """The product is not in the cart."""

    code = "cart_item_not_found"


class OrderNotFound(NotFound):
    """The order does not exist."""

    code = "order_not_found"


class IdempotencyConflict(Conflict):
    """The idempotency key was already used with different parameters."""

    code = "idempotency_conflict"


class PaymentError(DomainError):
    """The payment could not be processed."""

    code = "payment_error"
    http_status = 402


class PaymentDeclined(PaymentError):
    """The payment method was declined."""

    code = "payment_declined"
    http_status = 402

    def __init__(
        self,
        message: str = "",
        details: dict[str, Any] | None = None,
        *,
        decline_code: str | None = None,
    ) -> None:
        details = dict(details or {})
        if decline_code:
            details.setdefault("decline_code", decline_code)
        super().__init__(message, details)
        self.decline_code = details.get("decline_code")


class PaymentNotFound(NotFound):
    """The payment does not exist."""

    code = "payment_not_found"


class ServiceUnavailable(DomainError):
    """A service this request needs is unavailable; retry later."""

    code = "service_unavailable"
    http_status = 503


class PaymentUnavailable(ServiceUnavailable):
    """The payment provider could not be reached."""

    code = "payment_unavailable"


class WebhookSignatureInvalid(InvalidRequest):
    """The webhook's signature does not verify against its body and the endpoint secret."""

    code = "invalid_signature"
    # The signature is the sender's credential: without a valid one, the caller is not Stripe.
    http_status = 401


def error_classes() -> dict[str, type[DomainError]]:
    """Every DomainError subclass by code: how a remote adapter maps a code back to a class."""
    found: dict[str, type[DomainError]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found
