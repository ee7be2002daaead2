"""The summary's query parameters."""

from rest_framework import serializers


class SummaryQuery(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, max_value=1440, default=60)
    hours = serializers.IntegerField(min_value=1, max_value=24 * 14, default=24)
    top = serializers.IntegerField(min_value=1, max_value=100, default=10)
