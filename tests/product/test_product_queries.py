"""What the product list and detail cost in statements, whatever the page size or depth.

In-process (the settings and the captured statements are this process's), not in the parity
suites."""

import pytest

from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def test_the_list_issues_a_constant_number_of_queries(api, product_queries):
    # given: more products than the largest page, spread over several categories
    categories = CategoryFactory.create_batch(5)
    for index in range(120):
        ProductFactory(category=categories[index % 5])
    counts = {}
    # when
    for page_size in (1, 20, 100):
        with product_queries() as queries:
            response = api.get("/api/products", {"page_size": page_size})
        assert len(response.json()["results"]) == page_size
        counts[page_size] = len(queries)
    # then: one count and one page (categories joined in), never one query per product
    assert counts == {1: 2, 20: 2, 100: 2}


def test_a_cursor_page_is_one_statement_at_any_depth(api, product_queries):
    # given
    ProductFactory.create_batch(30)
    first = api.get("/api/products", {"page_size": 5}).json()
    # when: the first cursor page, then each next link
    counts = []
    with product_queries() as queries:
        body = api.get("/api/products", {"page_size": 5, "cursor": first["next_cursor"]}).json()
    counts.append(len(queries))
    for _ in range(3):
        with product_queries() as queries:
            body = api.get(body["next"]).json()
        counts.append(len(queries))
    # then: no count, no offset: the page alone
    assert counts == [1, 1, 1, 1]
    assert body["count"] is None and len(body["results"]) == 5


def test_a_search_is_two_statements_and_a_detail_one(api, product_queries):
    # given
    kettle = ProductFactory(name="Gooseneck Kettle")
    ProductFactory.create_batch(5)
    # when
    with product_queries() as search:
        api.get("/api/products", {"search": "kettle"})
    with product_queries() as detail:
        api.get(f"/api/products/{kettle.pk}")
    # then: the matches' ids (which are the count) and the page; the product with its category
    assert (len(search), len(detail)) == (2, 1)


def test_the_count_stops_at_its_bound_and_says_so(api, settings):
    # given
    settings.CATALOGUE_COUNT_LIMIT = 4
    ProductFactory.create_batch(6)
    # when
    first = api.get("/api/products", {"page_size": 2}).json()
    third = api.get("/api/products", {"page_size": 2, "page": 3}).json()
    # then: the bound, flagged; the next link still there; the last page counts exactly
    assert (first["count"], first["count_capped"]) == (4, True)
    assert first["next"] is not None
    assert (third["count"], third["count_capped"]) == (6, False)
    assert third["next"] is None
