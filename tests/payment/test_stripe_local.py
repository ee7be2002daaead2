"""The local Stripe-compatible server, seen through the official SDK over HTTP."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe


@pytest.fixture
def client(local_stripe) -> stripe.StripeClient:
    return stripe.StripeClient(local_stripe.api_key, base_addresses={"api": local_stripe.base_url})


@pytest.fixture
def webhook_sink(local_stripe):
    """An HTTP endpoint that keeps what Stripe posts to it."""
    received: list[tuple[bytes, str]] = []

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local_stripe.set_webhook_url(f"http://127.0.0.1:{server.server_address[1]}/hook")
    yield received
    server.shutdown()
    server.server_close()


def _visa(key: str | None = None, **extra) -> dict:
    params = {"amount": 1500, "currency": "usd", "payment_method": "pm_card_visa"}
    return {"params": params | extra, "options": {"idempotency_key": key} if key else {}}


def test_a_payment_intent_is_created_confirmed_and_retrieved(client):
    # given
    created = client.v1.payment_intents.create(
        params={"amount": 1500, "currency": "usd", "metadata": {"order_id": "5"}}
    )
    # when
    confirmed = client.v1.payment_intents.confirm(
        created.id, params={"payment_method": "pm_card_visa"}
    )
    # then
    assert created.status == "requires_payment_method"
    assert confirmed.status == "succeeded"
    assert confirmed.amount_received == 1500
    again = client.v1.payment_intents.retrieve(created.id)
    assert (again.status, again.metadata["order_id"]) == ("succeeded", "5")
    assert again.latest_charge.startswith("ch_")


def test_a_decline_has_stripes_error_shape(client):
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(
            params={
                "amount": 1500,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclined",
                "confirm": True,
            }
        )
    error = declined.value
    assert error.http_status == 402
    assert (error.code, error.error.decline_code) == ("card_declined", "generic_decline")
    assert error.error.payment_intent.status == "requires_payment_method"
    assert error.json_body["error"]["type"] == "card_error"


def test_the_same_key_and_parameters_replay_the_first_answer(client, local_stripe):
    # given
    replay_key = f"replay-{uuid.uuid4()}"
    first = client.v1.payment_intents.create(**_visa(replay_key, confirm=True))
    # when
    second = client.v1.payment_intents.create(**_visa(replay_key, confirm=True))
    # then
    assert second.id == first.id
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert local_stripe.stats()["by_idempotency_key"][replay_key] == {
        "executed": 1,
        "replayed": 1,
    }


def test_the_same_key_with_other_parameters_is_an_idempotency_error(client):
    conflict_key = f"conflict-{uuid.uuid4()}"
    client.v1.payment_intents.create(**_visa(conflict_key))
    with pytest.raises(stripe.IdempotencyError) as conflict:
        client.v1.payment_intents.create(**_visa(conflict_key, amount=1600))
    assert conflict.value.http_status == 400
    assert conflict.value.json_body["error"]["type"] == "idempotency_error"


def test_refunds_are_created_retrieved_and_capped_at_the_charge(client):
    # given
    intent = client.v1.payment_intents.create(**_visa(confirm=True))
    # when
    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})
    # then
    assert client.v1.refunds.retrieve(refund.id).amount == 1000
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 501})
    assert too_much.value.code == "amount_too_large"
    client.v1.refunds.create(params={"payment_intent": intent.id})
    with pytest.raises(stripe.InvalidRequestError) as done:
        client.v1.refunds.create(params={"payment_intent": intent.id})
    assert done.value.code == "charge_already_refunded"


def test_an_unknown_key_or_object_is_refused_like_stripe_does(local_stripe, client):
    stranger = stripe.StripeClient("sk_test_nope", base_addresses={"api": local_stripe.base_url})
    with pytest.raises(stripe.AuthenticationError):
        stranger.v1.payment_intents.retrieve("pi_123")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.retrieve("pi_123")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


def test_webhooks_arrive_signed_so_the_sdk_verifies_them(client, local_stripe, webhook_sink):
    # when
    intent = client.v1.payment_intents.create(**_visa(confirm=True))
    client.v1.refunds.create(params={"payment_intent": intent.id})
    # then
    deadline = time.monotonic() + 5
    while len(webhook_sink) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    events = [
        stripe.Webhook.construct_event(body, signature, local_stripe.webhook_secret)
        for body, signature in webhook_sink
    ]
    assert [e.type for e in events] == ["payment_intent.succeeded", "charge.refunded"]
    assert events[0].data.object.id == intent.id
    body, signature = webhook_sink[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_wrong")
    assert json.loads(body)["type"] == "payment_intent.succeeded"


def test_a_restarted_server_remembers_its_idempotent_results(client, local_stripe):
    # given
    restart_key = f"restart-{uuid.uuid4()}"
    first = client.v1.payment_intents.create(**_visa(restart_key, confirm=True))
    # when
    local_stripe.stop()
    local_stripe.start()
    again = client.v1.payment_intents.create(**_visa(restart_key, confirm=True))
    # then
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
