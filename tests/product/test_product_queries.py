"""The product list costs the same number of queries whatever the page size."""

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
