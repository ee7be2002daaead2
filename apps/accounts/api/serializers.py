"""Shapes of sign-up and sign-in."""

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.validators import RegexValidator
from rest_framework import serializers

from ecommerce.api.fields import StrictCharField

# Anchored, NUL-free, so the schema's pattern says it all: at least one character not a digit.
PASSWORD_NOT_ALL_DIGITS = RegexValidator(
    r"^[^\x00]*[^\x00\d][^\x00]*$", "This password is entirely numeric."
)


class RegisterInput(serializers.Serializer):
    username = StrictCharField(max_length=150, validators=[UnicodeUsernameValidator()])
    # What JSON Schema can say of AUTH_PASSWORD_VALIDATORS: at least 8 characters, not all
    # digits; a common password or one like the username is refused too (400).
    password = StrictCharField(
        min_length=8,
        max_length=128,
        write_only=True,
        trim_whitespace=False,
        validators=[PASSWORD_NOT_ALL_DIGITS],
        help_text="At least 8 characters, not all digits, not a common password, not like "
        "the username or email.",
    )
    email = serializers.EmailField(max_length=254)


class RegisterOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()


class TokenInput(serializers.Serializer):
    # Credentials are compared as sent: trimming would make "\x1f" blank, or " pw" "pw".
    username = StrictCharField(max_length=150, trim_whitespace=False)
    password = StrictCharField(max_length=128, write_only=True, trim_whitespace=False)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()
