"""The payment's port: charges and refunds, Stripe behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class PaymentData:
    id: int
    order_id: int
    amount: int
    currency: str
    status: str  # PENDING, SUCCEEDED, DECLINED, FAILED, REFUNDED, PARTIALLY_REFUNDED
    provider_id: str
    decline_code: str
    refunded_amount: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RefundData:
    id: int
    payment_id: int
    amount: int
    currency: str
    status: str  # PENDING, SUCCEEDED, FAILED
    provider_id: str


@runtime_checkable
class PaymentPort(Protocol):
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
        IdempotencyConflict (same key, other parameters)."""

    def refund(
        self, *, payment_id: int, idempotency_key: str, amount: int | None = None
    ) -> RefundData:
        """Refund all (amount None) or part. Raises PaymentNotFound, InvalidRequest,
        PaymentUnavailable, PaymentError."""

    def get(self, *, payment_id: int) -> PaymentData:
        """Raises PaymentNotFound."""

    def find_by_idempotency_key(self, *, idempotency_key: str) -> PaymentData | None:
        """The payment a charge with this key produced, if any."""
