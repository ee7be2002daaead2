"""Search and the list's plans on PostgreSQL, the engine of every mode but the embedded one.

These run under the PostgreSQL test settings: full-text search over the generated
`search_vector` column (ranked, prefix matching, English stemming), the SKU index, and plans
that use an index on a table large enough that PostgreSQL would otherwise scan it.
tests/product/test_product_search_sqlite.py covers the embedded mode's search.
"""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.product import selectors
from ecommerce.contracts.product.port import ProductQuery
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _ids(api, **params) -> list[int]:
    response = api.get("/api/products", params)
    assert response.status_code == 200, response.content
    return [p["id"] for p in response.json()["results"]]


def test_the_product_database_is_postgresql_with_full_text_search():
    assert connections["product"].vendor == "postgresql"
    assert selectors.full_text_search()


def test_a_word_matches_by_its_beginning_and_its_stem(api):
    # given
    kettle = ProductFactory(name="Gooseneck Kettle", description="Pours slowly.")
    ProductFactory(name="French Press", description="Four cups.")
    # then: a prefix, a plural, any case
    assert _ids(api, search="kett") == [kettle.pk]
    assert _ids(api, search="KETTLES") == [kettle.pk]
    assert _ids(api, search="goose") == [kettle.pk]
    assert _ids(api, search="pour") == [kettle.pk]  # a description word


def test_every_word_must_match(api):
    # given
    walnut_kettle = ProductFactory(name="Walnut Kettle")
    ProductFactory(name="Walnut Board")
    ProductFactory(name="Copper Kettle")
    # then
    assert _ids(api, search="walnut kettle") == [walnut_kettle.pk]
    assert _ids(api, search="kettle, walnut!") == [walnut_kettle.pk]


def test_relevance_puts_a_name_match_before_a_description_match(api):
    # given: the word in a description (weight B) and in a name (weight A)
    in_description = ProductFactory(name="Aaa Tray", description="Holds a kettle.")
    in_name = ProductFactory(name="Zzz Kettle", description="Boils water.")
    # then: by relevance the name wins; by name the alphabet does
    assert _ids(api, search="kettle", ordering="relevance") == [in_name.pk, in_description.pk]
    assert _ids(api, search="kettle", ordering="name") == [in_description.pk, in_name.pk]


def test_the_exact_sku_matches_whatever_its_case(api):
    # given
    kettle = ProductFactory(sku="BRE-1003", name="Kettle")
    ProductFactory(sku="BRE-10031", name="Other")
    # then: exact, not a prefix of another SKU
    assert _ids(api, search="bre-1003") == [kettle.pk]


@pytest.mark.parametrize("search", ["!!!", "the", "&|:*()'", "a & b"])
def test_queries_of_punctuation_or_stop_words_answer_200(api, search):
    # given
    ProductFactory(name="Kettle")
    # when
    response = api.get("/api/products", {"search": search})
    # then
    assert response.status_code == 200
    assert response.json()["results"] == []


def _seed(rows: int) -> list:
    """`rows` products in 20 categories, written by PostgreSQL itself, then analysed."""
    categories = [CategoryFactory() for _ in range(20)]
    with connections["product"].cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO product_product (sku, name, description, price, currency, category_id,
                                         is_active, stock, created_at, updated_at)
            SELECT 'S-' || g, 'Item ' || md5(g::text), 'Plain thing number ' || g,
                   100 + g %% 5000, 'USD', %s + g %% 20, true, 5, now(), now()
            FROM generate_series(1, %s) g
            """,
            [categories[0].pk, rows],
        )
        cursor.execute("ANALYZE product_product")
    return categories


def _plans(api, **params) -> list[str]:
    """The EXPLAIN ANALYZE of every statement the list request sends to the product database."""
    with CaptureQueriesContext(connections["product"]) as queries:
        response = api.get("/api/products", params)
    assert response.status_code == 200, response.content
    plans = []
    with connections["product"].cursor() as cursor:
        for query in queries.captured_queries:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


@pytest.fixture
def big_catalogue():
    """Enough products that reading them all costs more than any index: 30,000."""
    return _seed(30_000)


@pytest.mark.parametrize("search", ["goose", "gooseneck kettle", "zzzz"])
@pytest.mark.parametrize("ordering", ["name", "relevance"])
def test_search_reads_the_gin_index_never_the_whole_table(api, big_catalogue, search, ordering):
    # given: one match (or none) among 30,000
    ProductFactory(name="Gooseneck Kettle")
    with connections["product"].cursor() as cursor:
        cursor.execute("ANALYZE product_product")
    # when
    plans = _plans(api, search=search, ordering=ordering)
    # then: the matches come from the indexes; no statement reads the table or walks an
    # ordering's index to its end looking for them
    assert len(plans) == (1 if search == "zzzz" else 2)  # no match: no page to read
    assert "product_search_vector_idx" in plans[0] and "product_sku_upper_idx" in plans[0]
    for plan in plans:
        assert "Seq Scan on product_product" not in plan, plan
        assert "product_name_id_idx" not in plan and "product_price_idx" not in plan, plan


@pytest.mark.parametrize("ordering", ["name", "-name", "price", "-price", "id"])
def test_a_filtered_list_reads_an_index_in_order(api, big_catalogue, ordering):
    # given
    category = big_catalogue[3]
    # when
    by_slug = _plans(api, category=category.slug, ordering=ordering)
    by_id = _plans(api, category=str(category.pk), ordering=ordering)
    # then: the page is a range of the (category, key, id) index, unsorted; the count stops
    # at its bound
    for page, count in (by_slug, by_id):
        _a_bounded_range(page, count)


def _a_bounded_range(page: str, count: str) -> None:
    for plan in (page, count):
        assert "Seq Scan on product_product" not in plan, plan
    assert "Index Scan" in page and "product_category_" in page, page
    assert "Sort Key: product_product" not in page, page
    assert "rows=1001" in count, count


@pytest.mark.parametrize("ordering", ["name", "-price"])
def test_a_deep_cursor_page_starts_inside_the_index(big_catalogue, ordering):
    # given: a cursor from deep in the list
    deep = selectors.product_filter(ProductQuery(ordering=ordering))[25_000:25_001]
    cursor = selectors._encode("n", ordering, deep[0])
    # when
    qs = selectors._after(selectors.product_filter(ProductQuery(ordering=ordering)),
                          ordering, selectors._decode(cursor, ordering)[1], False)  # fmt: skip
    plan = qs[:21].explain(analyze=True)
    # then: the scan starts at the cursor: it reads about a page of rows, not 25,000
    assert "Seq Scan on product_product" not in plan, plan
    assert "Index Cond" in plan, plan
    scanned = [
        line for line in plan.splitlines() if "Index Scan" in line and "product_product" in line
    ]
    assert scanned and "rows=21 " in scanned[0].replace("rows=21)", "rows=21 "), plan
