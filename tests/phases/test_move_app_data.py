"""Moving the catalogue's rows out of the monolith's database into its own, and back."""

from __future__ import annotations

import psycopg
import pytest
from django.core.management import CommandError, call_command

from apps.product import services
from apps.product.models import Product, StockHold
from ecommerce.contracts.product.port import StockLine
from tests.factories import ProductFactory
from tests.fixtures.services import database_url, empty_database

pytestmark = pytest.mark.django_db(databases=["default", "product"], transaction=True)


@pytest.fixture
def service_database():
    """An empty database for the product service, next to the test's, dropped afterwards."""
    with empty_database("product", "service") as url:
        yield url


def _rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, sku, stock FROM product_product ORDER BY id").fetchall()


def test_a_move_copies_verifies_and_empties_the_monolith_and_a_rollback_brings_it_back(
    service_database, capsys
):
    # given: a catalogue with a stock hold, in the monolith's database
    products = [ProductFactory(stock=5) for _ in range(3)]
    services.stock_hold(hold_key="h-1", lines=[StockLine(products[0].pk, 2)])
    before = _rows(database_url("product"))
    # when
    call_command(
        "move_app_data",
        "product",
        monolith_url=database_url("product"),
        service_url=service_database,
    )
    # then: the rows live in the service's database only, identical
    report = capsys.readouterr().out
    assert "product_product" in report and "3 rows" in report
    assert _rows(service_database) == before
    assert Product.objects.count() == 0 and StockHold.objects.count() == 0
    with psycopg.connect(service_database) as conn:
        # the service's sequence continues after the moved ids
        next_id = conn.execute(
            "INSERT INTO product_category (name, slug) VALUES ('x', 'x') RETURNING id"
        ).fetchone()[0]
        assert next_id > max(p.category_id for p in products)
        conn.rollback()
    # when: rolled back
    call_command(
        "move_app_data",
        "product",
        rollback=True,
        monolith_url=database_url("product"),
        service_url=service_database,
    )
    # then
    assert _rows(database_url("product")) == before
    assert StockHold.objects.get(hold_key="h-1").lines.count() == 1
    assert _rows(service_database) == []


def test_a_move_into_a_service_database_that_has_rows_changes_nothing(service_database):
    # given: the service's database already holds a product
    ProductFactory()
    call_command(
        "move_app_data",
        "product",
        monolith_url=database_url("product"),
        service_url=service_database,
    )
    ProductFactory()
    # when
    with pytest.raises(CommandError, match="not empty"):
        call_command(
            "move_app_data",
            "product",
            monolith_url=database_url("product"),
            service_url=service_database,
            no_migrate=True,
        )
    # then
    assert Product.objects.count() == 1
    assert len(_rows(service_database)) == 1
