"""Fixtures of the catalogue's suites: a staff client for admin, query capture per alias."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory


@pytest.fixture
def product_queries():
    """Counts the queries sent to the product database inside a `with` block."""

    def capture() -> CaptureQueriesContext:
        return CaptureQueriesContext(connections["product"])

    return capture


@pytest.fixture
def staff_client(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client
