"""The OpenAPI 3 schema is valid and complete enough for a generated client; Swagger UI serves it."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db(databases="__all__")

# Issue 2's endpoints: method -> (path, needs a token, has a JSON request body)
OWN = {
    ("post", "/api/auth/register"): (False, True),
    ("post", "/api/auth/token"): (False, True),
    ("get", "/api/categories"): (False, False),
    ("get", "/api/products"): (False, False),
    ("get", "/api/products/{product_id}"): (False, False),
    ("get", "/api/cart"): (True, False),
    ("post", "/api/cart/items"): (True, True),
    ("patch", "/api/cart/items/{product_id}"): (True, True),
    ("delete", "/api/cart/items/{product_id}"): (True, False),
}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec(django_db_blocker) -> dict:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        *_, name = schema["$ref"].split("/")
        schema = spec["components"]["schemas"][name]
    return schema


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_the_schema_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_generating_the_schema_raises_no_warning(tmp_path):
    # --fail-on-warn turns every "could not resolve" of drf-spectacular into an error
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


def test_every_endpoint_of_the_storefront_is_listed(spec):
    listed = {(method, path) for method, path, _ in _operations(spec)}
    assert set(OWN) <= listed


def test_every_operation_has_a_unique_id_and_typed_answers(spec):
    ids = []
    for method, path, operation in _operations(spec):
        ids.append(operation["operationId"])
        answers = operation["responses"]
        successes = [code for code in answers if code.startswith("2")]
        assert successes, f"{method} {path} documents no success"
        for code in successes:
            if code != "204":
                content = answers[code].get("content", {})
                assert "schema" in content.get("application/json", {}), f"{method} {path} {code}"
        for code, answer in answers.items():
            if code.startswith("4"):
                schema = answer["content"]["application/json"]["schema"]
                assert _resolve(spec, schema)["properties"].keys() == {"error"}, (method, path)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("endpoint", sorted(OWN))
def test_own_endpoints_document_auth_bodies_and_errors(spec, endpoint):
    # given
    method, path = endpoint
    needs_token, has_body = OWN[endpoint]
    operation = spec["paths"][path][method]
    # then: who may call it
    security = operation.get("security", [])
    assert bool(security) == needs_token
    if needs_token:
        assert "401" in operation["responses"]
        scheme = spec["components"]["securitySchemes"][next(iter(security[0]))]
        assert (scheme["type"], scheme["in"], scheme["name"]) == (
            "apiKey",
            "header",
            "Authorization",
        )
    # then: what it takes
    if has_body:
        body = operation["requestBody"]
        assert body["required"] is True
        schema = _resolve(spec, body["content"]["application/json"]["schema"])
        assert schema["required"] and set(schema["required"]) <= set(schema["properties"])
        assert "400" in operation["responses"]
    else:
        assert "requestBody" not in operation
    for parameter in re.findall(r"{(\w+)}", path):
        declared = {p["name"]: p for p in operation["parameters"] if p["in"] == "path"}
        assert declared[parameter]["schema"]["type"] == "integer"


def test_the_product_list_documents_its_query_and_page(spec):
    operation = spec["paths"]["/api/products"]["get"]
    params = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
    assert {"search", "category", "ordering", "page", "page_size", "cursor"} <= set(params)
    assert {"price", "-price", "name", "relevance"} <= set(params["ordering"]["enum"])
    assert (params["page_size"]["minimum"], params["page_size"]["maximum"]) == (1, 100)
    page = _resolve(spec, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(page["required"]) == {
        "count",
        "next",
        "previous",
        "results",
        # keyset pages and the bounded count
        "next_cursor",
        "previous_cursor",
        "count_capped",
    }
    assert page["properties"]["count"]["nullable"] is True  # on cursor pages
    product = _resolve(spec, page["properties"]["results"]["items"])
    assert set(product["required"]) == {
        "id",
        "sku",
        "name",
        "description",
        "price",
        "currency",
        "category",
        "available",
    }


def test_swagger_ui_is_served_from_local_assets(api):
    # when
    response = api.get("/api/docs/")
    # then: the page's scripts are the package's files and its own init script
    assert response.status_code == 200
    page = response.content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    files = [src for src in scripts if src.startswith("/static/")]
    assert len(files) == 2 and len(scripts) == 3
    for src in files:
        assert finders.find(src.removeprefix("/static/")), src
    (init,) = set(scripts) - set(files)
    assert init.startswith("/api/docs/?")
    script = api.get(init.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    body = script.content.decode()
    assert "SwaggerUIBundle" in body and "/api/schema/" in body
