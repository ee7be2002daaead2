"""Shapes of the checkout and orders API."""

from rest_framework import serializers

from ecommerce.api.fields import StrictRegexField
from ecommerce.contracts.order.port import SAGA_LISTS


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


class SagaListInput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=list(SAGA_LISTS),
        help_text="`failed`: ended FAILED, compensated. `stuck`: unfinished and not moved for "
        "the stuck threshold (`SAGA_STUCK_SECONDS`, the `saga_stuck` gauge's rule). "
        "`compensating`: undoing their steps now.",
    )
    page = serializers.IntegerField(required=False, min_value=1, max_value=100_000, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)


class SagaSummaryOutput(serializers.Serializer):
    saga_id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=["RUNNING", "COMPENSATING", "COMPLETED", "FAILED"])
    step = serializers.CharField(help_text="The step it is at; `done` once it has ended.")
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="When it last moved.")
    finished_at = serializers.DateTimeField(allow_null=True)
    stuck = serializers.BooleanField(help_text="Unfinished and not moved for the stuck threshold.")
    admin_url = serializers.CharField(
        allow_null=True,
        help_text="Its page in this edge's admin (retry, force compensation); null in a phase "
        "whose order data the edge does not hold.",
    )


class SagaPageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = SagaSummaryOutput(many=True)
