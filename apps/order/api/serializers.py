"""Shapes of the checkout and orders API."""

from rest_framework import serializers

from ecommerce.api.fields import StrictRegexField


class CheckoutInput(serializers.Serializer):
    payment_method = StrictRegexField(
        r"^[A-Za-z0-9_]{1,100}$",
        max_length=100,
        help_text="A Stripe test payment method, e.g. pm_card_visa or pm_card_chargeDeclined.",
    )


class CheckoutOutput(serializers.Serializer):
    order_id = serializers.IntegerField()
    status = serializers.CharField()


class OrderLineOutput(serializers.Serializer):
    product_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.IntegerField()
    line_total = serializers.IntegerField()


class SagaStepOutput(serializers.Serializer):
    step = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()


class SagaOutput(serializers.Serializer):
    step = serializers.CharField()
    history = SagaStepOutput(many=True)


class OrderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["PENDING", "COMPLETED", "FAILED"])
    failure_reason = serializers.CharField()
    lines = OrderLineOutput(many=True)
    total = serializers.IntegerField()
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()
    trace_id = serializers.CharField(
        allow_null=True,
        help_text="The checkout's trace (32 hex digits) where tracing is on, else null.",
    )
    saga = SagaOutput()
