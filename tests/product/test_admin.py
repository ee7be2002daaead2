"""The catalogue in Django admin: who may enter, and what a catalogue manager can do there."""

from __future__ import annotations

import pytest

from apps.product.models import Product
from apps.product.money import format_money
from tests.factories import CategoryFactory, ProductFactory, UserFactory
from tests.product.forms import stock_list_form

pytestmark = pytest.mark.django_db(databases="__all__")

CHANGELIST = "/admin/product/product/"


def _listed_skus(response) -> set[str]:
    assert response.status_code == 200
    return {product.sku for product in response.context["cl"].result_list}


@pytest.mark.parametrize("path", ["/admin/", CHANGELIST, "/admin/product/category/"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, path):
    # when
    response = client.get(path)
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("path", ["/admin/", CHANGELIST])
def test_a_logged_in_customer_cannot_enter(client, path):
    # given
    client.force_login(UserFactory(is_staff=False))
    # when
    response = client.get(path)
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_customer_cannot_post_admin_actions(client):
    # given
    product = ProductFactory()
    client.force_login(UserFactory(is_staff=False))
    # when
    response = client.post(CHANGELIST, {"action": "deactivate", "_selected_action": [product.pk]})
    # then
    assert response.status_code == 302
    assert Product.objects.get(pk=product.pk).is_active is True


def test_staff_see_the_list_with_prices_as_money(staff_client):
    # given
    ProductFactory(sku="COF-1", price=1250, currency="USD")
    ProductFactory(sku="TEA-1", price=990, currency="EUR")
    # when
    response = staff_client.get(CHANGELIST)
    # then
    assert _listed_skus(response) == {"COF-1", "TEA-1"}
    page = response.content.decode()
    assert "$12.50" in page
    assert "€9.90" in page


def test_staff_search_by_name_and_by_sku(staff_client):
    # given
    ProductFactory(sku="BRE-1003", name="Gooseneck Kettle")
    ProductFactory(sku="TEA-2001", name="Sencha")
    # then
    assert _listed_skus(staff_client.get(CHANGELIST, {"q": "gooseneck"})) == {"BRE-1003"}
    assert _listed_skus(staff_client.get(CHANGELIST, {"q": "TEA-2001"})) == {"TEA-2001"}


def test_staff_filter_by_category_and_by_active(staff_client):
    # given
    tea, coffee = CategoryFactory(), CategoryFactory()
    ProductFactory(sku="T-ON", category=tea)
    ProductFactory(sku="T-OFF", category=tea, is_active=False)
    ProductFactory(sku="C-ON", category=coffee)
    # when
    by_category = staff_client.get(CHANGELIST, {"category__id__exact": tea.pk})
    inactive = staff_client.get(CHANGELIST, {"is_active__exact": "0"})
    both = staff_client.get(CHANGELIST, {"category__id__exact": tea.pk, "is_active__exact": "1"})
    # then
    assert _listed_skus(by_category) == {"T-ON", "T-OFF"}
    assert _listed_skus(inactive) == {"T-OFF"}
    assert _listed_skus(both) == {"T-ON"}


def test_staff_edit_stock_in_the_list(staff_client):
    # given
    first, second = ProductFactory(stock=5), ProductFactory(stock=7)
    form = stock_list_form((first, 50), (second, 7))
    # when
    response = staff_client.post(CHANGELIST, form)
    # then
    assert response.status_code == 302
    assert Product.objects.get(pk=first.pk).stock == 50
    assert Product.objects.get(pk=second.pk).stock == 7


def test_a_negative_stock_in_the_list_is_refused(staff_client):
    # given
    product = ProductFactory(stock=5)
    form = stock_list_form((product, -3))
    # when
    response = staff_client.post(CHANGELIST, form)
    # then
    assert response.status_code == 200  # the list again, with the error shown
    assert Product.objects.get(pk=product.pk).stock == 5


def test_staff_bulk_deactivate_and_activate(staff_client):
    # given
    chosen = ProductFactory.create_batch(2)
    untouched = ProductFactory()
    ids = [p.pk for p in chosen]
    # when
    deactivated = staff_client.post(CHANGELIST, {"action": "deactivate", "_selected_action": ids})
    after_deactivate = set(Product.objects.filter(is_active=False).values_list("pk", flat=True))
    staff_client.post(CHANGELIST, {"action": "activate", "_selected_action": ids})
    # then
    assert deactivated.status_code == 302
    assert after_deactivate == set(ids)
    assert Product.objects.filter(is_active=False).count() == 0
    assert Product.objects.get(pk=untouched.pk).is_active is True


def test_staff_manage_categories(staff_client):
    # when
    response = staff_client.post(
        "/admin/product/category/add/", {"name": "Cocoa", "slug": "cocoa", "_save": "Save"}
    )
    # then
    assert response.status_code == 302
    assert staff_client.get("/admin/product/category/").status_code == 200


@pytest.mark.parametrize(
    "amount, currency, shown",
    [
        (1250, "USD", "$12.50"),
        (123456, "EUR", "€1,234.56"),
        (500, "JPY", "¥500"),
        (1234, "BHD", "1.234 BHD"),
        (5, "CHF", "0.05 CHF"),
    ],
)
def test_money_is_shown_in_the_currencys_own_minor_unit(amount, currency, shown):
    assert format_money(amount, currency) == shown


def _change_form(product: Product, **changes) -> dict:
    form = {
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "category": product.category_id,
        "is_active": "on",
        "price": "0",
        "currency": product.currency,
        "stock": product.stock,
        "_save": "Save",
    }
    form.update(changes)
    return form


def test_the_change_form_shows_the_price_as_money(staff_client):
    # given
    product = ProductFactory(price=1850, currency="USD")
    # when
    response = staff_client.get(f"{CHANGELIST}{product.pk}/change/")
    # then
    assert response.status_code == 200
    assert 'name="price" value="18.50"' in response.content.decode()


@pytest.mark.parametrize(
    "typed, currency, stored",
    [
        ("18.50", "USD", 1850),
        ("18.5", "EUR", 1850),
        ("1850", "JPY", 1850),
        ("1.234", "KWD", 1234),
        # ISO 4217's minor units, which a two-decimal default gets wrong.
        ("1850", "XOF", 1850),
        ("1850", "UGX", 1850),
        ("1.234", "IQD", 1234),
        ("1.2345", "CLF", 12345),
    ],
)
def test_staff_type_prices_as_money(staff_client, typed, currency, stored):
    # given
    product = ProductFactory(price=100, currency="USD")
    # when
    response = staff_client.post(
        f"{CHANGELIST}{product.pk}/change/", _change_form(product, price=typed, currency=currency)
    )
    # then
    assert response.status_code == 302, response.content[:2000]
    assert Product.objects.get(pk=product.pk).price == stored


@pytest.mark.parametrize(
    "typed, currency, error",
    [
        ("18.505", "USD", "USD prices have at most 2 decimal places."),
        ("18.5", "JPY", "JPY prices have at most 0 decimal places."),
        ("18.5", "XAF", "XAF prices have at most 0 decimal places."),
        ("1.2345", "LYD", "LYD prices have at most 3 decimal places."),
        ("-1", "USD", "Ensure this value is greater than or equal to 0."),
        ("99999999999", "USD", "That price is too large."),
        ("ten", "USD", "Enter a number."),
    ],
)
def test_a_price_the_currency_cannot_hold_is_refused(staff_client, typed, currency, error):
    # given
    product = ProductFactory(price=100, currency="USD")
    # when
    response = staff_client.post(
        f"{CHANGELIST}{product.pk}/change/", _change_form(product, price=typed, currency=currency)
    )
    # then
    assert response.status_code == 200
    assert error in response.context["adminform"].form.errors["price"]
    assert Product.objects.get(pk=product.pk).price == 100


def test_a_currency_iso_4217_does_not_know_is_refused(staff_client):
    # given
    product = ProductFactory(price=100, currency="USD")
    # when
    response = staff_client.post(
        f"{CHANGELIST}{product.pk}/change/", _change_form(product, price="1.00", currency="XYZ")
    )
    # then
    assert response.status_code == 200
    assert (
        "'XYZ' is not an ISO 4217 currency" in response.context["adminform"].form.errors["currency"]
    )
    assert Product.objects.get(pk=product.pk).currency == "USD"
