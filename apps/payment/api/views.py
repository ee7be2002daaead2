"""Stripe's webhook endpoint: signed by Stripe, so no user authentication and no CSRF."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ecommerce.api.errors import error_responses
from ecommerce.wiring import resolver


class StripeWebhookApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="payments_stripe_webhook",
        request={"application/json": dict},
        responses={
            200: inline_serializer(
                "StripeWebhookOutput",
                {
                    "event_id": serializers.CharField(),
                    "type": serializers.CharField(),
                    "outcome": serializers.CharField(),
                    "duplicate": serializers.BooleanField(),
                },
            ),
            **error_responses(400, 401),
        },
        # Stripe's signature over the raw body is the only credential this endpoint takes.
        auth=[{"StripeSignature": []}],
    )
    def post(self, request: Request) -> Response:
        # The signature covers the raw bytes: they are read as sent, never re-serialised.
        receipt = resolver.payment().webhook_apply(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
        return Response(
            {
                "event_id": receipt.event_id,
                "type": receipt.event_type,
                "outcome": receipt.outcome,
                "duplicate": receipt.duplicate,
            }
        )
