"""The summary's query parameters."""

from rest_framework import serializers


class AnalyticsSummaryQuery(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, max_value=1440, default=60)
    hours = serializers.IntegerField(min_value=1, max_value=24 * 14, default=24)
    top = serializers.IntegerField(min_value=1, max_value=100, default=10)


class AnalyticsMoneyOutput(serializers.Serializer):
    currency = serializers.CharField()
    revenue = serializers.IntegerField(help_text="Completed orders' totals, minor units.")
    captured = serializers.IntegerField(help_text="Payments taken, minor units.")
    refunded = serializers.IntegerField(help_text="Refunds given, minor units.")


class AnalyticsCountsOutput(serializers.Serializer):
    orders_created = serializers.IntegerField()
    orders_completed = serializers.IntegerField()
    orders_failed = serializers.IntegerField()
    payments_succeeded = serializers.IntegerField()
    payments_declined = serializers.IntegerField()
    payments_refunded = serializers.IntegerField()
    cart_items_added = serializers.IntegerField()
    cart_items_removed = serializers.IntegerField()
    stock_changes = serializers.IntegerField()
    saga_steps_failed = serializers.IntegerField()
    money = AnalyticsMoneyOutput(many=True)


class AnalyticsBucketOutput(AnalyticsCountsOutput):
    start = serializers.DateTimeField()


class AnalyticsReasonOutput(serializers.Serializer):
    reason = serializers.CharField()
    count = serializers.IntegerField()


class AnalyticsStepFailureOutput(AnalyticsReasonOutput):
    step = serializers.CharField()


class AnalyticsOrdersOutput(serializers.Serializer):
    created = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    failure_reasons = AnalyticsReasonOutput(many=True)


class AnalyticsProductOutput(serializers.Serializer):
    product_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    units = serializers.IntegerField()
    revenue = serializers.IntegerField()


class AnalyticsTopProductsOutput(serializers.Serializer):
    by_units = AnalyticsProductOutput(many=True)
    by_revenue = AnalyticsProductOutput(many=True)


class AnalyticsConversionOutput(serializers.Serializer):
    shoppers_with_cart = serializers.IntegerField()
    shoppers_who_checked_out = serializers.IntegerField()
    rate = serializers.FloatField(help_text="Shoppers who checked out / shoppers with a cart.")


class AnalyticsSummaryOutput(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    events_processed = serializers.IntegerField()
    last_processed_at = serializers.DateTimeField(allow_null=True)
    totals = AnalyticsCountsOutput()
    orders = AnalyticsOrdersOutput()
    per_minute = AnalyticsBucketOutput(many=True)
    per_hour = AnalyticsBucketOutput(many=True)
    top_products = AnalyticsTopProductsOutput()
    conversion = AnalyticsConversionOutput()
    saga_step_failures = AnalyticsStepFailureOutput(many=True)
    payment_declines = AnalyticsReasonOutput(many=True)
