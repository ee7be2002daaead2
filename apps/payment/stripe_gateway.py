"""The only code that talks to Stripe: the official SDK, configured from settings at call time.

Stripe's exceptions never leave this module: they become the domain errors of
`ecommerce.contracts.payment.errors`, so the services (and every caller behind the port) see one vocabulary.
Network errors, 409s and 5xx answers are retried by the SDK itself (`max_network_retries`,
exponential backoff with jitter, 0.5 s doubling up to 5 s), reusing the idempotency key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings
from prometheus_client import Counter, Histogram

from ecommerce.contracts.errors import IdempotencyConflict, InvalidRequest
from ecommerce.contracts.payment.errors import (
    PaymentDeclined,
    PaymentError,
    PaymentUnavailable,
    WebhookSignatureInvalid,
)

# Stripe refuses webhook signatures older than this (its own default, in seconds).
WEBHOOK_TOLERANCE = 300


CALL_SECONDS = Histogram(
    "stripe_request_duration_seconds",
    "A Stripe API call as the payment service sees it (the SDK's retries included), by "
    "operation and outcome (ok, or the domain error it became).",
    ["operation", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ERRORS = Counter(
    "stripe_errors_total",
    "Stripe API calls that failed, by operation and the domain error they became.",
    ["operation", "error"],
)


@contextmanager
def _observed(operation: str) -> Iterator[None]:
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except Exception as exc:
        outcome = type(exc).__name__
        ERRORS.labels(operation, outcome).inc()
        raise
    finally:
        CALL_SECONDS.labels(operation, outcome).observe(time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    status: str
    amount: int
    currency: str
    latest_charge: str
    metadata: dict[str, str]
    decline_code: str = ""  # of the last failed attempt, if any
    failure_message: str = ""


@dataclass(frozen=True, slots=True)
class StripeRefund:
    id: str
    status: str
    amount: int
    payment_intent: str


@lru_cache(maxsize=8)
def _client(api_key: str, api_base: str, retries: int, timeout: float) -> stripe.StripeClient:
    base = {"api": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        base_addresses=base,
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def client() -> stripe.StripeClient:
    """A client for the current settings, so tests and `make run` can point it elsewhere."""
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE.rstrip("/"),
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_TIMEOUT,
    )


def _intent(resource: Any) -> Intent:
    obj = resource.to_dict() if hasattr(resource, "to_dict") else resource
    charge = obj.get("latest_charge") or ""
    error = obj.get("last_payment_error") or {}
    return Intent(
        id=obj["id"],
        status=obj["status"],
        amount=obj["amount"],
        currency=obj["currency"],
        latest_charge=charge if isinstance(charge, str) else charge["id"],
        metadata={k: str(v) for k, v in (obj.get("metadata") or {}).items()},
        decline_code=error.get("decline_code") or error.get("code") or "",
        failure_message=error.get("message") or "",
    )


def _translated(exc: stripe.StripeError) -> Exception:
    """The domain error for a Stripe error the SDK gave up on."""
    status = exc.http_status
    details: dict[str, Any] = {"stripe_code": exc.code or "", "stripe_request_id": exc.request_id}
    message = exc.user_message or str(exc)
    if isinstance(exc, stripe.CardError):
        error = exc.error
        intent = getattr(error, "payment_intent", None) if error else None
        if intent is not None:
            details["provider_id"] = intent["id"]
            details["provider_status"] = intent["status"]
        decline_code = (getattr(error, "decline_code", None) if error else None) or exc.code
        return PaymentDeclined(message, details, decline_code=decline_code or "card_declined")
    if isinstance(exc, stripe.APIConnectionError) or isinstance(exc, stripe.RateLimitError):
        return PaymentUnavailable(f"Stripe could not be reached: {message}", details)
    if status is not None and (status >= 500 or status == 409):
        return PaymentUnavailable(f"Stripe answered {status}: {message}", details)
    if isinstance(exc, stripe.IdempotencyError):
        return IdempotencyConflict(message, details)
    if isinstance(exc, stripe.InvalidRequestError):
        details["param"] = exc.param or ""
        return InvalidRequest(message, details)
    return PaymentError(message, details)


def payment_intent_create(
    *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
) -> Intent:
    with _observed("payment_intent.create"):
        try:
            obj = client().v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "metadata": metadata,
                    "payment_method_types": ["card"],
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translated(exc) from exc
        return _intent(obj)


def payment_intent_confirm(*, intent_id: str, payment_method: str, idempotency_key: str) -> Intent:
    """Raises PaymentDeclined with the intent's id and status in `details`."""
    with _observed("payment_intent.confirm"):
        try:
            obj = client().v1.payment_intents.confirm(
                intent_id,
                params={"payment_method": payment_method},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translated(exc) from exc
        return _intent(obj)


def payment_intent_retrieve(*, intent_id: str) -> Intent:
    with _observed("payment_intent.retrieve"):
        try:
            obj = client().v1.payment_intents.retrieve(intent_id)
        except stripe.StripeError as exc:
            raise _translated(exc) from exc
        return _intent(obj)


def refund_create(
    *, intent_id: str, amount: int, metadata: dict[str, str], idempotency_key: str
) -> StripeRefund:
    with _observed("refund.create"):
        try:
            obj = client().v1.refunds.create(
                params={"payment_intent": intent_id, "amount": amount, "metadata": metadata},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _translated(exc) from exc
        return StripeRefund(
            id=obj.id, status=obj.status, amount=obj.amount, payment_intent=intent_id
        )


def webhook_event(*, payload: bytes, signature: str) -> dict[str, Any]:
    """The event, once the SDK verified its signature against the raw body, as plain data."""
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, WEBHOOK_TOLERANCE
        )
        event = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureInvalid(f"The Stripe-Signature does not verify: {exc}") from exc
    except ValueError as exc:  # not UTF-8, or not JSON
        raise InvalidRequest("The webhook body is not a JSON event.") from exc
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance((event.get("data") or {}).get("object"), dict)
    ):
        raise InvalidRequest("The webhook body is not a Stripe event.")
    return event
