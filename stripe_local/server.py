"""The HTTP side: Stripe's wire format on /v1, a small control API on /_local."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stripe_local import forms
from stripe_local.ledger import API_VERSION, Ledger, StripeApiError, invalid
from stripe_local.webhooks import Deliverer, payload_of, sign

FAULT_MODES = ("status", "drop", "drop_after", "delay")


class Faults:
    """Failures to inject into the next /v1 requests, in order: the tests' "Stripe misbehaves"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[dict] = []

    def add(self, spec: dict) -> list[dict]:
        mode = spec.get("mode")
        if mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
        count = int(spec.get("count", 1))
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = {
            "mode": mode,
            "count": count,
            "status": int(spec.get("status", 500)),
            "seconds": float(spec.get("seconds", 0)),
            # Only requests whose "METHOD /path" contains this text (e.g. "/confirm").
            "match": str(spec.get("match", "")),
        }
        with self._lock:
            self._queue.append(fault)
            return [dict(f) for f in self._queue]

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self, request_line: str) -> dict | None:
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault["match"] in request_line:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self._queue.pop(index)
                    return dict(fault)
            return None

    def listing(self) -> list[dict]:
        with self._lock:
            return [dict(f) for f in self._queue]


class StripeLocalServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        webhook_url: str = "",
        webhook_secret: str = "whsec_local",
        api_key: str = "",
        state_file: Path | None = None,
    ) -> None:
        super().__init__(address, Handler)
        self.api_key = api_key
        self.ledger = Ledger(webhook_secret=webhook_secret, state_file=state_file)
        self.ledger.load()
        self.faults = Faults()
        self.deliverer = Deliverer(self.ledger, url=webhook_url)
        self.deliverer.start()

    def server_close(self) -> None:
        self.deliverer.stop()
        super().server_close()


class Handler(BaseHTTPRequestHandler):
    server: StripeLocalServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's requests session expects
    # Headers and body leave in two writes; with Nagle's algorithm on, the body waits for the
    # client's delayed ACK (40 ms on Linux) on every kept-alive request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return  # the counters at /_local/stats say what happened

    # -- plumbing ------------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, str) else json.dumps(body, indent=2)
        data = raw.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        """Close the socket without an answer: what a network failure looks like to a client."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self._body()
        if url.path.startswith("/_local/"):
            self._control(method, url.path, url.query, body)
        elif url.path.startswith("/v1/"):
            self._api(method, url.path, url.query, body)
        else:
            self._send(404, {"error": {"type": "invalid_request_error", "message": "Not found."}})

    # -- /v1: Stripe's API ---------------------------------------------------------------------

    def _api(self, method: str, path: str, query: str, body: bytes) -> None:
        ledger = self.server.ledger
        with ledger.lock:
            ledger.counters["requests"] += 1
        fault = self.server.faults.take(f"{method} {path}")
        if fault is not None:
            with ledger.lock:
                ledger.counters["faults_injected"] += 1
            if fault["mode"] == "status":
                self._send(
                    fault["status"],
                    {
                        "error": {
                            "type": "api_error",
                            "message": "An unknown error occurred (injected by stripe_local).",
                        }
                    },
                    {"Request-Id": f"req_{secrets.token_hex(7)}"},
                )
                return
            if fault["mode"] == "drop":
                self._drop()
                return
            if fault["mode"] == "delay":
                time.sleep(fault["seconds"])
        request_id = f"req_{secrets.token_hex(7)}"
        headers = {
            "Request-Id": request_id,
            "Stripe-Version": self.headers.get("Stripe-Version") or API_VERSION,
        }
        status, response, extra = self._execute(method, path, query, body, request_id)
        if fault is not None and fault["mode"] == "drop_after":
            self._drop()  # executed and remembered, but the answer never arrives
            return
        self._send(status, response, headers | extra)

    def _execute(
        self, method: str, path: str, query: str, body: bytes, request_id: str
    ) -> tuple[int, Any, dict[str, str]]:
        ledger = self.server.ledger
        api_key = self._api_key()
        if api_key is None:
            return 401, self._auth_error(), {}
        idempotency_key = self.headers.get("Idempotency-Key") if method == "POST" else None
        try:
            text = body.decode() if method == "POST" else query
            params_pairs = forms.flatten(text)
            params = forms.decode(text)
        except (UnicodeDecodeError, forms.FormError) as exc:
            return 400, {"error": invalid(f"Invalid request: {exc}").body}, {}
        emitted: list[tuple[str, dict]] = []
        with ledger.lock:
            if idempotency_key:
                try:
                    stored = ledger.replay(api_key, idempotency_key, method, path, params_pairs)
                except StripeApiError as exc:
                    return exc.status, {"error": exc.body}, {}
                if stored is not None:
                    return (
                        stored.status,
                        stored.body,
                        {
                            "Idempotent-Replayed": "true",
                            "Original-Request": stored.request_id,
                            "Idempotency-Key": idempotency_key,
                        },
                    )
            try:
                status, result = 200, self._route(method, path, params, emitted)
            except StripeApiError as exc:
                status, result = exc.status, {"error": {**exc.body, "request_log_url": ""}}
            text_out = json.dumps(result, indent=2)
            events = [
                ledger.event_create(t, obj, request_id, idempotency_key) for t, obj in emitted
            ]
            if idempotency_key:
                ledger.remember(
                    api_key,
                    idempotency_key,
                    method,
                    path,
                    params_pairs,
                    status,
                    text_out,
                    request_id,
                )
            if method == "POST":
                ledger.save()
        for event in events:
            self.server.deliverer.enqueue(event["id"])
        extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return status, text_out, extra

    def _api_key(self) -> str | None:
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.startswith(("sk_", "rk_")):
            return None
        if self.server.api_key and value != self.server.api_key:
            return None
        return value

    def _auth_error(self) -> dict:
        return {
            "error": {
                "type": "invalid_request_error",
                "message": "Invalid API Key provided, or none given. Use Authorization: Bearer "
                "sk_test_...",
            }
        }

    def _route(self, method: str, path: str, params: dict, emitted: list) -> dict:
        ledger = self.server.ledger
        parts = path.strip("/").split("/")[1:]
        match method, parts:
            case "POST", ["payment_intents"]:
                return ledger.payment_intent_create(params, emitted)
            case "GET", ["payment_intents", intent_id]:
                return ledger.payment_intent(intent_id)
            case "POST", ["payment_intents", intent_id, "confirm"]:
                return ledger.payment_intent_confirm(intent_id, params, emitted)
            case "POST", ["refunds"]:
                return ledger.refund_create(params, emitted)
            case "GET", ["refunds", refund_id]:
                return ledger.refund(refund_id)
            case "GET", ["charges", charge_id]:
                return ledger.charge(charge_id)
            case "GET", ["events", event_id] if event_id in ledger.events:
                return ledger.events[event_id]
        raise StripeApiError(
            404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})."
        )

    # -- /_local: counters, fault injection, events --------------------------------------------

    def _control(self, method: str, path: str, query: str, body: bytes) -> None:
        server = self.server
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            self._send(400, {"error": "body must be JSON"})
            return
        parts = path.strip("/").split("/")[1:]
        match method, parts:
            case "GET", ["health"]:
                self._send(200, {"ok": True})
            case "GET", ["stats"]:
                stats = server.ledger.stats()
                stats["webhooks_pending"] = server.deliverer.pending()
                self._send(200, stats)
            case "POST", ["faults"]:
                try:
                    self._send(200, {"faults": server.faults.add(data)})
                except (TypeError, ValueError) as exc:
                    self._send(400, {"error": str(exc)})
            case "GET", ["faults"]:
                self._send(200, {"faults": server.faults.listing()})
            case "DELETE", ["faults"]:
                server.faults.clear()
                self._send(200, {"faults": []})
            case "POST", ["config"]:
                if "webhook_url" in data:
                    server.deliverer.url = str(data["webhook_url"] or "")
                self._send(200, {"webhook_url": server.deliverer.url})
            case "POST", ["reset"]:
                server.faults.clear()
                server.ledger.reset()
                self._send(200, {"ok": True})
            case "GET", ["events"]:
                self._send(200, {"data": self._events(parse_qs(query))})
            case "POST", ["events", event_id, "signature"] if event_id in server.ledger.events:
                with server.ledger.lock:
                    payload = payload_of(server.ledger.events[event_id])
                timestamp = data.get("timestamp")
                signature = sign(
                    payload,
                    data.get("secret") or server.ledger.webhook_secret,
                    int(timestamp) if timestamp is not None else None,
                )
                self._send(200, {"payload": payload, "signature": signature})
            case "POST", ["events", event_id, "deliver"] if event_id in server.ledger.events:
                self._send(200, server.deliverer.deliver_now(event_id))
            case _:
                self._send(404, {"error": f"no control endpoint {method} {path}"})

    def _events(self, query: dict[str, list[str]]) -> list[dict]:
        wanted_type = (query.get("type") or [None])[0]
        wanted_intent = (query.get("payment_intent") or [None])[0]
        ledger = self.server.ledger
        with ledger.lock:
            found = []
            for event in ledger.events.values():
                obj = event["data"]["object"]
                intent = (
                    obj["id"]
                    if obj.get("object") == "payment_intent"
                    else obj.get("payment_intent")
                )
                if wanted_type and event["type"] != wanted_type:
                    continue
                if wanted_intent and intent != wanted_intent:
                    continue
                found.append(
                    {
                        "id": event["id"],
                        "type": event["type"],
                        "created": event["created"],
                        "payment_intent": intent,
                        "deliveries": list(self.server.deliverer.log.get(event["id"], [])),
                    }
                )
            return found
