"""Sign-up and sign-in: a token on success, a 400 in the error shape otherwise."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(databases="__all__")

GOOD = {"username": "ada", "password": "analytical-engine-1843", "email": "ada@example.com"}


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _users() -> list[str]:
    return sorted(get_user_model().objects.values_list("username", flat=True))


def test_register_answers_201_with_a_working_token(api):
    # when
    response = api.post("/api/auth/register", GOOD, format="json")
    # then
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "username", "token"}
    assert body["username"] == "ada"
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api.get("/api/cart").status_code == 200
    user = get_user_model().objects.get(pk=body["id"])
    assert user.email == "ada@example.com"
    assert user.check_password(GOOD["password"])


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "ada-example"])
def test_a_weak_password_is_400_and_creates_nobody(api, password):
    # given
    before = _users()
    # when
    response = api.post(
        "/api/auth/register",
        GOOD | {"password": password, "username": "ada-example"},
        format="json",
    )
    # then
    error = _error(response, 400)
    assert "password" in error["details"]
    assert _users() == before


def test_a_taken_username_is_409(api):
    # given
    UserFactory(username="ada")
    before = _users()
    # when
    response = api.post("/api/auth/register", GOOD, format="json")
    # then
    error = _error(response, 409)
    assert (error["code"], list(error["details"])) == ("username_taken", ["username"])
    assert _users() == before


@pytest.mark.parametrize("email", ["not-an-email", "ada@", "", None])
def test_a_bad_email_is_400(api, email):
    # when
    response = api.post("/api/auth/register", GOOD | {"email": email}, format="json")
    # then
    error = _error(response, 400)
    assert error["code"] == "validation_error"
    assert "email" in error["details"]
    assert _users() == []


@pytest.mark.parametrize("username", ["", "has space", "x" * 151, None, "ada\x00", 42])
def test_a_bad_username_is_400(api, username):
    # when
    response = api.post("/api/auth/register", GOOD | {"username": username}, format="json")
    # then
    assert "username" in _error(response, 400)["details"]
    assert _users() == []


@pytest.mark.parametrize("raw", ['{"username": "ada",', "[]", '"ada"'])
def test_register_refuses_a_body_that_is_not_a_json_object(api, raw):
    # when
    response = api.generic("POST", "/api/auth/register", raw, "application/json")
    # then
    assert _error(response, 400)["code"] in {"malformed_request", "validation_error"}
    assert _users() == []


def test_token_returns_the_users_token(api):
    # given
    registered = api.post("/api/auth/register", GOOD, format="json").json()
    # when
    response = api.post(
        "/api/auth/token", {"username": "ada", "password": GOOD["password"]}, format="json"
    )
    # then
    assert response.status_code == 200
    assert response.json() == {"token": registered["token"]}


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "ada", "password": "not-the-password"},
        {"username": "nobody", "password": GOOD["password"]},
    ],
)
def test_wrong_credentials_are_401(api, credentials):
    # given
    api.post("/api/auth/register", GOOD, format="json")
    # when
    response = api.post("/api/auth/token", credentials, format="json")
    # then
    error = _error(response, 401)
    assert error["code"] == "invalid_credentials"
    assert "token" not in response.json()


@pytest.mark.parametrize("password", [12345678901234, 3.14159265358979, ["a-long-password"]])
def test_a_password_that_is_not_a_json_string_is_400(api, password):
    # when
    response = api.post("/api/auth/register", GOOD | {"password": password}, format="json")
    # then
    assert set(_error(response, 400)["details"]) == {"password"}
    assert _users() == []


def test_a_nul_byte_in_the_credentials_is_400_not_500(api):
    # when
    response = api.post("/api/auth/token", {"username": "a\x00", "password": "p"}, format="json")
    # then
    assert "username" in _error(response, 400)["details"]


def test_token_needs_both_fields(api):
    # when
    response = api.post("/api/auth/token", {"username": "ada"}, format="json")
    # then
    assert set(_error(response, 400)["details"]) == {"password"}


def test_an_inactive_user_gets_no_token(api):
    # given
    UserFactory(username="gone", is_active=False)
    # when
    response = api.post(
        "/api/auth/token", {"username": "gone", "password": "correct-horse-battery"}, format="json"
    )
    # then
    assert _error(response, 401)["code"] == "invalid_credentials"
