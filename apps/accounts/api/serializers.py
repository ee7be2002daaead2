"""Shapes of sign-up and sign-in."""

from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from ecommerce.api.fields import StrictCharField


class RegisterInput(serializers.Serializer):
    username = StrictCharField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = StrictCharField(max_length=128, write_only=True)
    email = serializers.EmailField(max_length=254)


class RegisterOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()


class TokenInput(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=128, write_only=True)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()
