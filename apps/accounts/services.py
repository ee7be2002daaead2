"""Registration and tokens; users live in the edge's `default` database."""

from __future__ import annotations

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from ecommerce.contracts.errors import Conflict, DomainError, InvalidRequest


class InvalidCredentials(DomainError):
    """The username or password is wrong."""

    code = "invalid_credentials"
    http_status = 401


class UsernameTaken(Conflict):
    """A user with that username already exists."""

    code = "username_taken"


def user_register(*, username: str, password: str, email: str):
    User = get_user_model()
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise InvalidRequest("The password is too weak.", {"password": list(exc.messages)}) from exc
    try:
        with transaction.atomic(using="default"):
            user = User.objects.create_user(username=username, email=email, password=password)
            token = Token.objects.create(user=user)
    except IntegrityError:
        raise UsernameTaken(
            "That username is taken.", {"username": ["A user with that username already exists."]}
        ) from None
    return user, token


def token_obtain(*, username: str, password: str) -> Token:
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials()
    token, _ = Token.objects.get_or_create(user=user)
    return token
