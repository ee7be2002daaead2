"""The payment's port: charges and refunds, Stripe behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from ecommerce.contracts.remote import rpc


@dataclass(frozen=True, slots=True)
class PaymentData:
    id: int
    order_id: int
    amount: int
    currency: str
    # PENDING, UNAVAILABLE (Stripe unreachable: charge again with the same key), SUCCEEDED,
    # DECLINED, FAILED, PARTIALLY_REFUNDED, REFUNDED
    status: str
    provider_id: str
    decline_code: str
    refunded_amount: int
    created_at: datetime
    failure_message: str = ""


@dataclass(frozen=True, slots=True)
class RefundData:
    id: int
    payment_id: int
    amount: int
    currency: str
    status: str  # PENDING, UNAVAILABLE (repeat with the same key), SUCCEEDED, FAILED
    provider_id: str


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """What became of one Stripe webhook event."""

    event_id: str
    event_type: str
    outcome: str  # APPLIED, STALE, UNKNOWN_PAYMENT, IGNORED
    duplicate: bool


# Charges and refunds carry their idempotency key to Stripe, so a retried call never charges or
# refunds twice: every call may be retried. Those two wait on Stripe.
@runtime_checkable
class PaymentPort(Protocol):
    @rpc("Charge", calls_provider=True)
    def charge(
        self,
        *,
        order_id: int,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
    ) -> PaymentData:
        """Charge once per key. Raises PaymentDeclined, PaymentUnavailable, PaymentError,
        IdempotencyConflict (same key, other parameters).

        After PaymentUnavailable the payment is UNAVAILABLE: call charge() again later with the
        same key and parameters; it resumes the same Stripe PaymentIntent and never charges
        twice. A repeat after an outcome returns (or raises) that outcome again."""

    @rpc("Refund", calls_provider=True)
    def refund(
        self, *, payment_id: int, idempotency_key: str, amount: int | None = None
    ) -> RefundData:
        """Refund all (amount None) or part. Raises PaymentNotFound, InvalidRequest,
        PaymentUnavailable, PaymentError."""

    @rpc("GetPayment")
    def get(self, *, payment_id: int) -> PaymentData:
        """Raises PaymentNotFound."""

    @rpc("FindPaymentByIdempotencyKey")
    def find_by_idempotency_key(self, *, idempotency_key: str) -> PaymentData | None:
        """The payment a charge with this key produced, if any.

        A PENDING or UNAVAILABLE payment is first brought up to date from Stripe (read-only:
        SUCCEEDED if Stripe charged it, DECLINED if it declined); one still open after that
        took no money. Raises PaymentUnavailable if Stripe cannot be asked about an open one."""

    @rpc("ApplyWebhook")
    def webhook_apply(self, *, payload: bytes, signature: str) -> WebhookReceipt:
        """Verify a Stripe webhook (raw body, Stripe-Signature header) and reconcile the
        payment; a redelivered event changes nothing. Raises WebhookSignatureInvalid and
        InvalidRequest."""
