"""The payment service's domain errors: what its port may raise, in-process or over gRPC."""

from __future__ import annotations

from typing import Any

from ecommerce.contracts.errors import DomainError, InvalidRequest, NotFound, ServiceUnavailable


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


class PaymentUnavailable(ServiceUnavailable):
    """The payment provider could not be reached."""

    code = "payment_unavailable"


class WebhookSignatureInvalid(InvalidRequest):
    """The webhook's signature does not verify against its body and the endpoint secret."""

    code = "invalid_signature"
    # The signature is the sender's credential: without a valid one, the caller is not Stripe.
    http_status = 401
