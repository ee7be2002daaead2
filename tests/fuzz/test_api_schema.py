"""Every operation of the served OpenAPI schema, fuzzed by Schemathesis through the WSGI
application, anonymous and with a real user's token, under Schemathesis's default checks."""

from __future__ import annotations

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from tests.factories import ProductFactory, UserFactory
from tests.fixtures.broker import purge_queues

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__")]

# Bounded so both runs stay within CI's budget: this many examples per operation and phase.
EXAMPLES = 50
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@schema.hook
def filter_body(context, body) -> bool:
    """What JSON Schema cannot say of sign-up: the password's rules that look at the other
    fields or at a list of common passwords (the schema's description names them). The
    generator keeps to them, so a valid body is one the schema and the validators both pass."""
    if context.operation is None or context.operation.path != "/api/auth/register":
        return True
    if not isinstance(body, dict) or not all(
        isinstance(body.get(name), str) for name in ("username", "password", "email")
    ):
        return True
    user = get_user_model()(username=body["username"], email=body["email"])
    try:
        validate_password(body["password"], user=user)
    except ValidationError:
        return False
    return True


def _without_a_made_up_cursor(case) -> None:
    """What JSON Schema cannot say of the product list's `cursor`: it is opaque, valid only as a
    listing gave it and only without `page`. No listing gave one here, so a generated cursor is
    never valid input (every phase of the generator makes them, its filters aside);
    tests/product/test_product_api.py proves each such request is a 400 in the error shape."""
    if case.path == "/api/products" and isinstance(case.query, dict):
        case.query.pop("cursor", None)


@pytest.fixture(autouse=True)
def _shop():
    # a catalogue to find, so the fuzzer also meets real products; checkouts it places leave
    # saga commands that no worker runs here
    purge_queues()
    ProductFactory.create_batch(3)
    yield
    purge_queues()


@pytest.fixture
def token() -> str:
    return Token.objects.create(user=UserFactory()).key


@schema.parametrize()
@FUZZ
def test_anonymous(case):
    _without_a_made_up_cursor(case)
    case.call_and_validate()


@schema.parametrize()
@FUZZ
def test_authenticated(case, token):
    _without_a_made_up_cursor(case)
    case.call_and_validate(headers={"Authorization": f"Token {token}"})
