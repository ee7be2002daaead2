"""Webhook events: signed like Stripe signs them, delivered in the background with retries."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from stripe_local.ledger import Ledger


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: HMAC-SHA256 over "t.payload" with the endpoint secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def payload_of(event: dict) -> str:
    return json.dumps(event, indent=2)


@dataclass
class Deliverer:
    """Posts each event to the endpoint; a failed attempt is retried with growing delays."""

    ledger: Ledger
    url: str = ""
    max_attempts: int = 6
    timeout: float = 5.0
    log: dict[str, list[dict]] = field(default_factory=dict)
    _queue: list = field(default_factory=list)
    _wake: threading.Condition = field(default_factory=threading.Condition)
    _stopped: bool = False

    def start(self) -> None:
        threading.Thread(target=self._run, name="webhooks", daemon=True).start()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()

    def enqueue(self, event_id: str, attempt: int = 1, delay: float = 0.0) -> None:
        with self._wake:
            heapq.heappush(self._queue, (time.monotonic() + delay, attempt, event_id))
            self._wake.notify()

    def pending(self) -> int:
        with self._wake:
            return len(self._queue)

    def deliver_now(self, event_id: str) -> dict:
        """One synchronous delivery attempt (a resend, as from Stripe's dashboard)."""
        return self._attempt(event_id)

    def _attempt(self, event_id: str) -> dict:
        with self.ledger.lock:
            event = self.ledger.events[event_id]
            payload = payload_of(event)
        outcome: dict = {"at": int(time.time()), "url": self.url}
        if not self.url:
            outcome.update(status=None, error="no webhook endpoint configured")
        else:
            request = urllib.request.Request(
                self.url,
                data=payload.encode(),
                method="POST",
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                    "Stripe-Signature": sign(payload, self.ledger.webhook_secret),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    outcome.update(status=response.status, error=None)
            except urllib.error.HTTPError as exc:
                outcome.update(status=exc.code, error=exc.reason)
            except (OSError, urllib.error.URLError) as exc:
                outcome.update(status=None, error=str(exc))
        ok = outcome["status"] is not None and 200 <= outcome["status"] < 300
        with self.ledger.lock:
            if self.url:
                counter = "webhooks_delivered" if ok else "webhook_attempts_failed"
                self.ledger.counters[counter] += 1
            self.log.setdefault(event_id, []).append(outcome)
        outcome["ok"] = ok
        return outcome

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                _, attempt, event_id = heapq.heappop(self._queue)
            outcome = self._attempt(event_id)
            if not outcome["ok"] and self.url and attempt < self.max_attempts:
                self.enqueue(event_id, attempt + 1, delay=min(0.25 * 2**attempt, 10.0))
