"""Serializer fields stricter than DRF's: JSON types are checked, not coerced."""

from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """An integer that arrived as a JSON integer: "3", 3.0 and true are refused."""

    default_error_messages = {"invalid": "A JSON integer is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    """A string that arrived as a JSON string: 7 and true are refused, not turned into "7"."""

    default_error_messages = {"invalid": "A JSON string in the expected format is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A string that arrived as a JSON string: 42 and 4.2 are refused, not turned into text."""

    default_error_messages = {"invalid": "A JSON string is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
