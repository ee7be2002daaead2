"""Under /api/, what a view lets escape answers the JSON error shape, even with DEBUG on."""

import logging

import pytest
from django.db import InterfaceError, OperationalError
from rest_framework.test import APIClient

from ecommerce.wiring import resolver

pytestmark = pytest.mark.django_db(databases="__all__")

SHAPE_500 = {"error": {"code": "internal_error", "message": "Something went wrong.", "details": {}}}


@pytest.fixture
def debug_api(settings) -> APIClient:
    settings.DEBUG = True  # as `make run` starts (settings/embedded.py)
    return APIClient(raise_request_exception=False)


def test_an_unhandled_exception_is_a_json_500_and_is_logged(debug_api, monkeypatch, caplog):
    # given: a bug behind the categories endpoint
    def broken(self):
        raise RuntimeError("a bug with a secret in it")

    monkeypatch.setattr(type(resolver.product()), "categories", broken)
    # when
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = debug_api.get("/api/categories")
    # then: the shape, not Django's debug page; the traceback goes to the log only
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == SHAPE_500
    assert "secret" not in response.content.decode()
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.exc_info[0] is RuntimeError


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_that_cannot_answer_is_a_503_to_retry(debug_api, monkeypatch, error):
    # given: the database cuts the request's connection (terminated, restarting, down)
    def cut(self):
        raise error("terminating connection due to administrator command")

    monkeypatch.setattr(type(resolver.product()), "categories", cut)
    # when
    response = debug_api.get("/api/categories")
    # then: the error shape, and when to try again
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert "administrator" not in response.content.decode()
    assert response["Retry-After"] == "1"


def test_an_unknown_api_url_is_a_json_404(debug_api):
    response = debug_api.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_pages_outside_the_api_keep_django_s_own_answers(debug_api):
    response = debug_api.get("/admin/no-such-page/")
    assert response.status_code in (302, 404)
    assert not response.get("Content-Type", "").startswith("application/json")
