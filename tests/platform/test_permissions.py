"""Who may call what: every route of the URL conf, called anonymously, by another user than the
owner of what it names, and by staff. A route missing from the table fails the suite."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from apps.cart.models import CartItem
from apps.order.models import Order
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(databases="__all__")

CALLERS = ("anonymous", "other", "staff")


@dataclass(frozen=True)
class Row:
    method: str
    route: str
    expect: tuple[int, int, int]  # anonymous, another user, staff
    body: dict | None = None
    headers: dict = field(default_factory=dict)


# The owner is a customer with a product in the cart and an order. `{product}` and `{order}`
# stand for theirs; another user and staff must not reach them through the API.
TABLE = [
    Row("post", "api/auth/register", (201, 201, 201), {"password": "analytical-engine-1843"}),
    Row("post", "api/auth/token", (200, 200, 200)),
    Row("get", "api/categories", (200, 200, 200)),
    Row("get", "api/products", (200, 200, 200)),
    Row("get", "api/products/<int:product_id>", (200, 200, 200)),
    Row("get", "api/cart", (401, 200, 200)),
    Row("post", "api/cart/items", (401, 201, 201), {"quantity": 1}),
    Row("patch", "api/cart/items/<int:product_id>", (401, 404, 404), {"quantity": 2}),
    Row("delete", "api/cart/items/<int:product_id>", (401, 404, 404)),
    Row(
        "post",
        "api/checkout",
        (401, 409, 409),  # their own cart is empty: the owner's is not theirs to check out
        {"payment_method": "pm_card_visa"},
        {"HTTP_IDEMPOTENCY_KEY": "k-1"},
    ),
    Row("get", "api/orders", (401, 200, 200)),
    Row("get", "api/orders/sagas", (401, 403, 200), {"state": "failed"}),  # a GET's query
    Row("get", "api/orders/<int:order_id>", (401, 404, 404)),
    Row("post", "api/payments/stripe/webhook", (401, 401, 401), {}),  # Stripe's signature only
    Row("get", "api/analytics/summary", (401, 403, 200)),
    Row("get", "api/schema/", (200, 200, 200)),
    Row("get", "api/docs/", (200, 200, 200)),
    Row("get", "admin/", (302, 302, 200)),
    Row("get", "healthz", (200, 200, 200)),
    Row("get", "readyz", (200, 200, 200)),
    Row("get", "metrics", (200, 200, 200)),
    # The console: pages every visitor may open. They hold no data of their own; the browser
    # fills them from the API with the visitor's token, so the rows above decide what it sees.
    Row("get", "", (200, 200, 200)),
    Row("get", "console/topology.json", (200, 200, 200)),
    Row("get", "console/health.json", (200, 200, 200)),
    Row("get", "console/metrics.json", (200, 200, 200)),
    Row("get", "console/costs/", (200, 200, 200)),
    Row("get", "console/docs/<slug:name>/", (200, 200, 200)),
    Row("get", "console/staff/", (200, 200, 200)),
    Row("get", "console/shop/", (200, 200, 200)),
    Row("get", "console/orders/", (200, 200, 200)),
    Row("get", "console/orders/<int:order_id>/", (200, 200, 200)),
]
ROUTES = {row.route for row in TABLE}


def _routes(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if getattr(entry, "app_name", None) == "admin":
                yield prefix + str(entry.pattern)  # the admin's own pages: below, per model
                continue
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def test_every_route_is_in_the_table():
    served = set(_routes(get_resolver().url_patterns))
    # django_prometheus's /metrics is a regex route; name it as the table does
    served = {"metrics" if route.startswith("^metrics") else route for route in served}
    assert served == ROUTES


@pytest.fixture
def world(client_for):
    owner = UserFactory(username="owner")
    product, other_product = ProductFactory(), ProductFactory()
    owner_api = client_for(owner)
    assert (
        owner_api.post(
            "/api/cart/items", {"product_id": product.pk, "quantity": 1}, format="json"
        ).status_code
        == 201
    )
    placed = owner_api.post(
        "/api/checkout",
        {"payment_method": "pm_card_visa"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="owner-1",
    )
    assert placed.status_code == 201
    # the owner's cart keeps a line too, for the cart rows
    assert owner_api.post(
        "/api/cart/items", {"product_id": other_product.pk, "quantity": 3}, format="json"
    ).status_code in (201, 409)
    callers = {"anonymous": APIClient()}
    for name, user in (
        ("other", UserFactory(username="other")),
        ("staff", UserFactory(username="staff", is_staff=True, is_superuser=True)),
    ):
        # a token for the API, a session for the admin: each as the user would sign in there
        callers[name] = client_for(user)
        callers[name].force_login(user)
    return {
        "owner": owner,
        "callers": callers,
        "product": product,
        "other_product": other_product,
        "order": Order.objects.get(pk=placed.json()["order_id"]),
    }


def _path(route: str, world) -> str:
    return "/" + route.replace("<int:product_id>", str(world["other_product"].pk)).replace(
        "<int:order_id>", str(world["order"].pk)
    ).replace("<slug:name>", "journey")


def _body(row: Row, caller: str, world) -> dict | None:
    if row.body is None:
        return None
    body = dict(row.body)
    if row.route == "api/auth/register":
        body |= {"username": f"new-{caller}", "email": f"{caller}@example.com"}
    if row.route == "api/cart/items":
        body["product_id"] = world["product"].pk
    return body


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", TABLE, ids=[f"{r.method.upper()} {r.route}" for r in TABLE])
def test_each_caller_gets_what_the_table_says(world, row, caller):
    # given
    client = world["callers"][caller]
    owner_lines = set(CartItem.objects.values_list("cart__user_id", "product_id", "quantity"))
    if row.route == "api/auth/token":
        body = {"username": "owner", "password": "correct-horse-battery"}
    else:
        body = _body(row, caller, world)
    # when
    response = getattr(client, row.method)(
        _path(row.route, world), body, format="json" if body is not None else None, **row.headers
    )
    # then
    assert response.status_code == row.expect[CALLERS.index(caller)], response.content[:300]
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        assert set(response.json()["error"]) == {"code", "message", "details"}
    # and nothing of the owner's was read or changed by anyone else
    owner = world["owner"]
    after = set(CartItem.objects.values_list("cart__user_id", "product_id", "quantity"))
    assert {line for line in after if line[0] == owner.pk} == {
        line for line in owner_lines if line[0] == owner.pk
    }
    # (the saga list is staff's view of every checkout, the owner's included)
    if row.route in ("api/orders", "api/orders/<int:order_id>") and response.status_code == 200:
        listed = response.json() if isinstance(response.json(), list) else [response.json()]
        assert world["order"].pk not in {order["id"] for order in listed}
    if row.route == "api/cart" and response.status_code == 200:
        assert response.json()["items"] == []


def _admin_pages():
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        yield f"admin:{opts.app_label}_{opts.model_name}_changelist", model_admin, "view"
        yield f"admin:{opts.app_label}_{opts.model_name}_add", model_admin, "add"


ADMIN_PAGES = list(_admin_pages())


@pytest.mark.parametrize(
    ("name", "model_admin", "action"), ADMIN_PAGES, ids=[name for name, _, _ in ADMIN_PAGES]
)
def test_the_admin_is_for_staff_only(client, name, model_admin, action):
    # given
    url = reverse(name)
    customer = UserFactory(username="customer")
    staff = UserFactory(username="staff", is_staff=True, is_superuser=True)
    # then: anonymous and a customer are sent to the login page
    for user in (None, customer):
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 302, (user, url)
        assert response["Location"].startswith(reverse("admin:login"))
    # and staff get the page, or a 403 where the admin allows no one to add
    client.force_login(staff)
    response = client.get(url)
    request = response.wsgi_request
    allowed = (
        model_admin.has_view_permission(request)
        if action == "view"
        else model_admin.has_add_permission(request)
    )
    assert response.status_code == (200 if allowed else 403), url
