"""The server's state: PaymentIntents, charges, refunds, events, idempotent results and counters.

Behaviour follows Stripe's API for the subset the platform uses, including the test payment
methods (https://docs.stripe.com/testing) and the error objects Stripe answers with.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

API_VERSION = "2025-01-27.acacia"

# Stripe's test PaymentMethods that succeed, with the card they stand for.
SUCCEEDING_METHODS = {
    "pm_card_visa": ("visa", "4242"),
    "pm_card_visa_debit": ("visa", "5556"),
    "pm_card_mastercard": ("mastercard", "4444"),
    "pm_card_amex": ("amex", "8431"),
    "pm_card_discover": ("discover", "1117"),
    "pm_card_us": ("visa", "4242"),
}

# Test PaymentMethods that are declined: (code, decline_code, message), as Stripe answers them.
DECLINING_METHODS = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedFraudulent": ("card_declined", "fraudulent", "Your card was declined."),
    "pm_card_chargeDeclinedExpiredCard": (
        "expired_card",
        "expired_card",
        "Your card has expired.",
    ),
    "pm_card_chargeDeclinedIncorrectCvc": (
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    "pm_card_chargeDeclinedProcessingError": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}


class StripeApiError(Exception):
    """An error answered in Stripe's shape: {"error": {"type", "code", "message", ...}}."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"type": type_, "message": message}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.body["param"] = param
        self.body.update(extra)


def invalid(message: str, *, code: str | None = None, param: str | None = None) -> StripeApiError:
    return StripeApiError(400, "invalid_request_error", message, code=code, param=param)


def missing(kind: str, ident: str, param: str = "id") -> StripeApiError:
    return StripeApiError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{ident}'",
        code="resource_missing",
        param=param,
    )


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _int_param(params: dict, name: str, *, required: bool) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise invalid(f"Missing required param: {name}.", code="parameter_missing", param=name)
        return None
    if not isinstance(raw, str) or not raw.lstrip("-").isdigit():
        raise invalid(f"Invalid integer: {raw}", code="parameter_invalid_integer", param=name)
    return int(raw)


def _metadata(params: dict) -> dict[str, str]:
    metadata = params.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise invalid("Invalid object", code="parameter_invalid_empty", param="metadata")
    return {str(k): str(v) for k, v in metadata.items()}


@dataclass
class IdempotentResult:
    method: str
    path: str
    params: list[list[str]]
    status: int
    body: str
    request_id: str


@dataclass
class Ledger:
    """Everything the server knows. One lock: requests are short and correctness is the point."""

    webhook_secret: str
    state_file: Path | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    payment_intents: dict[str, dict] = field(default_factory=dict)
    charges: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    events: dict[str, dict] = field(default_factory=dict)
    idempotent: dict[str, IdempotentResult] = field(default_factory=dict)
    counters: Counter = field(default_factory=Counter)
    by_key: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    charges_by_order: Counter = field(default_factory=Counter)

    # -- persistence: a restarted server remembers what it charged, like the real one -------

    def load(self) -> None:
        if not self.state_file or not self.state_file.exists():
            return
        data = json.loads(self.state_file.read_text())
        self.payment_intents = data["payment_intents"]
        self.charges = data["charges"]
        self.refunds = data["refunds"]
        self.events = data["events"]
        self.idempotent = {k: IdempotentResult(**v) for k, v in data["idempotent"].items()}
        self.counters = Counter(data["counters"])
        self.by_key = defaultdict(Counter, {k: Counter(v) for k, v in data["by_key"].items()})
        self.charges_by_order = Counter(data["charges_by_order"])

    def save(self) -> None:
        if not self.state_file:
            return
        data = {
            "payment_intents": self.payment_intents,
            "charges": self.charges,
            "refunds": self.refunds,
            "events": self.events,
            "idempotent": {k: v.__dict__ for k, v in self.idempotent.items()},
            "counters": self.counters,
            "by_key": self.by_key,
            "charges_by_order": self.charges_by_order,
        }
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, self.state_file)

    def reset(self) -> None:
        with self.lock:
            for store in (self.payment_intents, self.charges, self.refunds, self.events):
                store.clear()
            self.idempotent.clear()
            self.counters.clear()
            self.by_key.clear()
            self.charges_by_order.clear()
            self.save()

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                **{
                    name: self.counters.get(name, 0)
                    for name in (
                        "requests",
                        "payment_intents_created",
                        "confirmations",
                        "charges_succeeded",
                        "charges_declined",
                        "amount_charged",
                        "refunds_created",
                        "amount_refunded",
                        "idempotent_replays",
                        "idempotency_errors",
                        "faults_injected",
                        "events_created",
                        "webhooks_delivered",
                        "webhook_attempts_failed",
                    )
                },
                "by_idempotency_key": {k: dict(v) for k, v in self.by_key.items()},
                "charges_by_order": dict(self.charges_by_order),
            }

    # -- idempotency (https://docs.stripe.com/api/idempotent_requests) ----------------------

    def replay(
        self, api_key: str, key: str, method: str, path: str, params: list[tuple[str, str]]
    ) -> IdempotentResult | None:
        """The stored result for this key, or None; a key reused differently is an error."""
        stored = self.idempotent.get(f"{api_key}:{key}")
        if stored is None:
            return None
        if stored.method != method or stored.path != path:
            self.counters["idempotency_errors"] += 1
            raise StripeApiError(
                400,
                "idempotency_error",
                f"Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{stored.method} {stored.path}' vs '{method} {path}'). Try "
                f"using a key other than '{key}' if you meant to execute a different request.",
            )
        if [list(p) for p in params] != stored.params:
            self.counters["idempotency_errors"] += 1
            raise StripeApiError(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
            )
        self.counters["idempotent_replays"] += 1
        self.by_key[key]["replayed"] += 1
        return stored

    def remember(
        self,
        api_key: str,
        key: str,
        method: str,
        path: str,
        params: list[tuple[str, str]],
        status: int,
        body: str,
        request_id: str,
    ) -> None:
        self.by_key[key]["executed"] += 1
        # Like Stripe, a request rejected while validating its parameters is not saved, so the
        # key may be used again; anything that executed (including a card decline) is.
        if status == 400:
            return
        self.idempotent[f"{api_key}:{key}"] = IdempotentResult(
            method, path, [list(p) for p in params], status, body, request_id
        )

    # -- events ------------------------------------------------------------------------------

    def event_create(self, type_: str, obj: dict, request_id: str, key: str | None) -> dict:
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": request_id, "idempotency_key": key},
            "type": type_,
        }
        self.events[event["id"]] = event
        self.counters["events_created"] += 1
        return event

    # -- PaymentIntents ----------------------------------------------------------------------

    def payment_intent_create(self, params: dict, emit: list) -> dict:
        amount = _int_param(params, "amount", required=True)
        if amount < 1:
            raise invalid(
                "This value must be greater than or equal to 1.",
                code="parameter_invalid_integer",
                param="amount",
            )
        currency = str(params.get("currency") or "").lower()
        if not currency:
            raise invalid(
                "Missing required param: currency.", code="parameter_missing", param="currency"
            )
        if len(currency) != 3 or not currency.isalpha():
            raise invalid(f"Invalid currency: {currency}.", param="currency")
        method = params.get("payment_method") or None
        if method is not None:
            self._payment_method(method)
        intent = {
            "id": _new_id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "capture_method": "automatic",
            "client_secret": None,
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency,
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": _metadata(params),
            "payment_method": method,
            "payment_method_types": ["card"],
            "status": "requires_confirmation" if method else "requires_payment_method",
        }
        intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(8)}"
        self.payment_intents[intent["id"]] = intent
        self.counters["payment_intents_created"] += 1
        if params.get("confirm") == "true":
            return self._confirm(intent, {}, emit)
        return intent

    def payment_intent_confirm(self, intent_id: str, params: dict, emit: list) -> dict:
        intent = self.payment_intent(intent_id)
        return self._confirm(intent, params, emit)

    def payment_intent(self, intent_id: str) -> dict:
        intent = self.payment_intents.get(intent_id)
        if intent is None:
            raise missing("payment_intent", intent_id, "intent")
        return intent

    def _payment_method(self, method: str) -> dict:
        if method in SUCCEEDING_METHODS:
            brand, last4 = SUCCEEDING_METHODS[method]
        elif method in DECLINING_METHODS:
            brand, last4 = "visa", "0002"
        else:
            raise missing("PaymentMethod", method, "payment_method")
        return {
            "id": method,
            "object": "payment_method",
            "type": "card",
            "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034},
        }

    def _confirm(self, intent: dict, params: dict, emit: list) -> dict:
        if intent["status"] in ("succeeded", "processing", "canceled"):
            raise invalid(
                "You cannot confirm this PaymentIntent because it has a status of "
                f"{intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        method = params.get("payment_method") or intent["payment_method"]
        if not method:
            raise invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
            )
        payment_method = self._payment_method(method)
        intent["payment_method"] = method
        self.counters["confirmations"] += 1
        charge = {
            "id": _new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": 0,
            "amount_refunded": 0,
            "captured": False,
            "created": int(time.time()),
            "currency": intent["currency"],
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": dict(intent["metadata"]),
            "outcome": None,
            "paid": False,
            "payment_intent": intent["id"],
            "payment_method": method,
            "refunded": False,
            "refunds": {"object": "list", "data": [], "has_more": False, "url": ""},
            "status": "failed",
        }
        charge["refunds"]["url"] = f"/v1/charges/{charge['id']}/refunds"
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        if method in DECLINING_METHODS:
            code, decline_code, message = DECLINING_METHODS[method]
            charge.update(
                failure_code=code,
                failure_message=message,
                outcome={"type": "issuer_declined", "network_status": "declined_by_network"},
            )
            error = {
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": message,
                "charge": charge["id"],
                "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
                "payment_method": payment_method,
            }
            intent.update(status="requires_payment_method", last_payment_error=error)
            self.counters["charges_declined"] += 1
            emit.append(("payment_intent.payment_failed", intent))
            raise StripeApiError(
                402,
                "card_error",
                message,
                code=code,
                decline_code=decline_code,
                charge=charge["id"],
                payment_intent=json.loads(json.dumps(intent)),
                payment_method=payment_method,
            )
        charge.update(
            amount_captured=intent["amount"],
            captured=True,
            paid=True,
            status="succeeded",
            outcome={"type": "authorized", "network_status": "approved_by_network"},
        )
        intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
        self.counters["charges_succeeded"] += 1
        self.counters["amount_charged"] += intent["amount"]
        order = intent["metadata"].get("order_id")
        if order is not None:
            self.charges_by_order[order] += 1
        emit.append(("payment_intent.succeeded", intent))
        return intent

    # -- charges and refunds -----------------------------------------------------------------

    def charge(self, charge_id: str) -> dict:
        charge = self.charges.get(charge_id)
        if charge is None:
            raise missing("charge", charge_id, "charge")
        return charge

    def refund_create(self, params: dict, emit: list) -> dict:
        if params.get("charge"):
            charge = self.charge(params["charge"])
        elif params.get("payment_intent"):
            intent = self.payment_intents.get(params["payment_intent"])
            if intent is None:
                raise missing("payment_intent", params["payment_intent"], "payment_intent")
            if intent["status"] != "succeeded":
                raise invalid(
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge "
                    "to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            charge = self.charges[intent["latest_charge"]]
        else:
            raise invalid(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        if charge["status"] != "succeeded":
            raise invalid(
                f"Charge {charge['id']} has no successful payment to refund.",
                code="charge_not_refundable",
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise invalid(
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = _int_param(params, "amount", required=False)
        if amount is None:
            amount = remaining
        if amount < 1:
            raise invalid(
                "Invalid positive integer", code="parameter_invalid_integer", param="amount"
            )
        if amount > remaining:
            raise invalid(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining}).",
                code="amount_too_large",
                param="amount",
            )
        refund = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": _metadata(params),
            "payment_intent": charge["payment_intent"],
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        self.counters["refunds_created"] += 1
        self.counters["amount_refunded"] += amount
        emit.append(("charge.refunded", charge))
        return refund

    def refund(self, refund_id: str) -> dict:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise missing("refund", refund_id, "refund")
        return refund
