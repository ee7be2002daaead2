"""Fixtures shared by every suite: API clients, users, a clean cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.product import cache as catalogue_cache
from ecommerce.wiring import resolver
from tests.factories import UserFactory
from tests.fixtures.remote_phase import make_transactional, phase_services  # noqa: F401
from tests.fixtures.stripe import local_stripe, stripe_server  # noqa: F401  (for every suite)


def _clear_cache() -> None:
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")  # Redis: only this run's keys (its KEY_PREFIX)
    else:
        cache.clear()  # embedded: a file cache in the run's own scratch directory
    catalogue_cache.clear_local()


@pytest.fixture(autouse=True)
def _clean_cache():
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture(autouse=True)
def _fresh_adapters():
    yield
    resolver.reset()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def client_for():
    """An API client authenticated as the given user."""

    def make(user) -> APIClient:
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def auth_api(user, client_for) -> APIClient:
    return client_for(user)


def pytest_collection_modifyitems(config, items):
    # PHASE=1..3: the same suites, with the apps as real services (tests/fixtures/remote_phase).
    make_transactional(items)
