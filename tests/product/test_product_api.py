"""The catalogue's public API: pagination, search, filters, ordering, detail and categories."""

import pytest

from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_list_pages_with_count_next_and_previous(api):
    # given
    ProductFactory.create_batch(5)
    # when
    first = api.get("/api/products", {"page_size": 2}).json()
    second = api.get("/api/products", {"page_size": 2, "page": 2}).json()
    last = api.get("/api/products", {"page_size": 2, "page": 3}).json()
    # then
    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert "page=2" in first["next"] and "page_size=2" in first["next"]
    assert "page=1" in second["previous"] and "page=3" in second["next"]
    assert len(last["results"]) == 1 and last["next"] is None
    seen = [p["id"] for page in (first, second, last) for p in page["results"]]
    assert len(set(seen)) == 5


def test_a_page_past_the_end_is_a_4xx(api):
    # given
    ProductFactory.create_batch(3)
    # when
    response = api.get("/api/products", {"page_size": 2, "page": 3})
    # then
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


@pytest.mark.parametrize(
    "params",
    [{"page_size": 0}, {"page_size": 101}, {"page": 0}, {"page": "x"}, {"page_size": "-1"}],
)
def test_page_and_page_size_are_bounded(api, params):
    # when
    response = api.get("/api/products", params)
    # then
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "validation_error"
    assert set(error["details"]) == set(params)


def test_page_size_at_its_bounds_is_accepted(api):
    # given
    ProductFactory.create_batch(3)
    # then
    assert len(api.get("/api/products", {"page_size": 1}).json()["results"]) == 1
    assert len(api.get("/api/products", {"page_size": 100}).json()["results"]) == 3


def test_search_matches_name_and_sku(api):
    # given
    kettle = ProductFactory(name="Gooseneck Kettle", sku="BRE-1003")
    ProductFactory(name="French Press", sku="BRE-1005")
    # when
    by_name = api.get("/api/products", {"search": "gooseneck"}).json()
    by_sku = api.get("/api/products", {"search": "bre-1003"}).json()
    # then
    assert [p["id"] for p in by_name["results"]] == [kettle.pk]
    assert [p["id"] for p in by_sku["results"]] == [kettle.pk]


def test_category_filter_by_slug_and_by_id(api):
    # given
    tea, coffee = CategoryFactory(slug="tea"), CategoryFactory(slug="coffee")
    sencha = ProductFactory(category=tea)
    ProductFactory(category=coffee)
    # when
    by_slug = api.get("/api/products", {"category": "tea"}).json()
    by_id = api.get("/api/products", {"category": str(tea.pk)}).json()
    # then
    assert [p["id"] for p in by_slug["results"]] == [sencha.pk]
    assert [p["id"] for p in by_id["results"]] == [sencha.pk]
    assert by_slug["results"][0]["category"] == "tea"


@pytest.mark.parametrize("category", ["no-such-category", "99999999999999999999999", "²"])
def test_an_unknown_category_matches_nothing(api, category):
    # given
    ProductFactory()
    # when
    response = api.get("/api/products", {"category": category})
    # then
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_ordering_by_price_and_name(api):
    # given
    b = ProductFactory(name="B", price=300)
    a = ProductFactory(name="A", price=200)
    c = ProductFactory(name="C", price=100)
    # when
    ids = {
        ordering: [
            p["id"] for p in api.get("/api/products", {"ordering": ordering}).json()["results"]
        ]
        for ordering in ("price", "-price", "name")
    }
    # then
    assert ids["price"] == [c.pk, a.pk, b.pk]
    assert ids["-price"] == [b.pk, a.pk, c.pk]
    assert ids["name"] == [a.pk, b.pk, c.pk]


def test_an_unknown_ordering_is_400_in_the_error_shape(api):
    # when
    response = api.get("/api/products", {"ordering": "stock"})
    # then
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "validation_error"
    assert "ordering" in error["details"]


def test_inactive_products_are_not_listed(api):
    # given
    shown = ProductFactory()
    ProductFactory(is_active=False)
    # when
    body = api.get("/api/products").json()
    # then
    assert body["count"] == 1
    assert [p["id"] for p in body["results"]] == [shown.pk]


def test_detail_has_the_documented_shape(api):
    # given
    product = ProductFactory(price=1999, stock=0, category=CategoryFactory(slug="tea"))
    # when
    response = api.get(f"/api/products/{product.pk}")
    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": product.pk,
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "price": 1999,
        "currency": "USD",
        "category": "tea",
        "available": False,
    }


@pytest.mark.parametrize("product_id", ["inactive", "unknown", str(2**63), "9" * 40])
def test_detail_of_a_product_not_for_sale_is_404(api, product_id):
    # given
    inactive = ProductFactory(is_active=False)
    path_id = {"inactive": inactive.pk, "unknown": inactive.pk + 1000}.get(product_id, product_id)
    # when
    response = api.get(f"/api/products/{path_id}")
    # then
    assert response.status_code == 404
    assert _error(response)["code"] == "product_not_found"


def test_categories_are_listed_by_name(api):
    # given
    tea = CategoryFactory(name="Tea", slug="tea")
    coffee = CategoryFactory(name="Coffee", slug="coffee")
    # when
    response = api.get("/api/categories")
    # then
    assert response.status_code == 200
    assert response.json() == [
        {"id": coffee.pk, "name": "Coffee", "slug": "coffee"},
        {"id": tea.pk, "name": "Tea", "slug": "tea"},
    ]


def test_the_catalogue_is_public_even_with_a_bad_token(api):
    # given
    product = ProductFactory()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    # then
    assert api.get("/api/products").status_code == 200
    assert api.get(f"/api/products/{product.pk}").status_code == 200
    assert api.get("/api/categories").status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"search": "\x00"},
        {"category": "tea\x00"},
        {"ordering": "\x00"},
        {"page": "1e9"},
        {"page": "100001"},
        {"page_size": "NaN"},
        {"search": "x" * 101},
        {"category": "c" * 121},
    ],
)
def test_odd_query_strings_are_400_never_500(api, params):
    # given
    ProductFactory()
    # when
    response = api.get("/api/products", params)
    # then
    assert response.status_code == 400
    assert _error(response)["code"] == "validation_error"


@pytest.mark.parametrize("path", ["/api/products/-1", "/api/products/abc", "/api/products/1.5"])
def test_a_product_path_that_is_not_an_id_is_a_json_404(api, path):
    # when
    response = api.get(path)
    # then
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def _walk(api, params, start_key="next"):
    """Every page from the first, following `next` links; the ids seen and the bodies."""
    bodies = [api.get("/api/products", params).json()]
    while bodies[-1][start_key]:
        bodies.append(api.get(bodies[-1][start_key]).json())
    return [p["id"] for body in bodies for p in body["results"]], bodies


@pytest.mark.parametrize("ordering", ["name", "-name", "price", "-price", "id"])
def test_cursor_pages_walk_every_product_once_in_order(api, ordering):
    # given: ties on the sort key, which only the id can break
    for index in range(7):
        ProductFactory(name=f"Item {index % 3}", price=100 * (index % 2))
    ProductFactory(is_active=False)
    expected = [p["id"] for p in api.get("/api/products", {"ordering": ordering}).json()["results"]]
    # when: the first page by page, then its cursor, then the cursors' links
    first = api.get("/api/products", {"ordering": ordering, "page_size": 3}).json()
    ids, bodies = [p["id"] for p in first["results"]], [first]
    response = api.get(
        "/api/products", {"ordering": ordering, "page_size": 3, "cursor": first["next_cursor"]}
    )
    while True:
        body = response.json()
        bodies.append(body)
        ids += [p["id"] for p in body["results"]]
        if not body["next"]:
            break
        response = api.get(body["next"])
    # then
    assert ids == expected and len(ids) == 7
    assert [b["count"] for b in bodies] == [7, None, None]
    assert "cursor=" in bodies[1]["next"] and "page=" not in bodies[1]["next"]
    assert bodies[-1]["next_cursor"] is None


def test_a_cursor_page_links_back_to_the_page_before(api):
    # given
    for index in range(6):
        ProductFactory(name=f"Item {index}")
    first = api.get("/api/products", {"page_size": 2}).json()
    second = api.get("/api/products", {"page_size": 2, "cursor": first["next_cursor"]}).json()
    third = api.get(second["next"]).json()
    # when
    back = api.get(third["previous"]).json()
    back_again = api.get(back["previous"]).json()
    # then
    assert [p["id"] for p in back["results"]] == [p["id"] for p in second["results"]]
    assert [p["id"] for p in back_again["results"]] == [p["id"] for p in first["results"]]
    assert back_again["previous"] is None and back_again["previous_cursor"] is None


def test_cursor_pages_keep_the_search_and_the_category(api):
    # given
    tea = CategoryFactory(slug="tea")
    wanted = [ProductFactory(name=f"Green tea {n}", category=tea) for n in range(5)]
    ProductFactory(name="Green tea elsewhere")
    ProductFactory(name="Black coffee", category=tea)
    # when
    ids, _ = _walk(api, {"category": "tea", "search": "green", "page_size": 2})
    # then
    assert sorted(ids) == sorted(p.pk for p in wanted)


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "eyJ4IjoxfQ", "WyJuIiwicHJpY2UiLDEsMV0", "WyJuIiwibmFtZSIsMSwxXQ"],
)
def test_a_bad_cursor_is_400_in_the_error_shape(api, cursor):
    # given: the last two are a cursor of another ordering, and a name cursor with a number
    ProductFactory()
    # when
    response = api.get("/api/products", {"cursor": cursor})
    # then
    assert response.status_code == 400
    assert _error(response)["code"] in {"validation_error", "invalid_request"}


def test_cursor_and_page_together_is_400(api):
    # given
    ProductFactory.create_batch(3)
    cursor = api.get("/api/products", {"page_size": 1}).json()["next_cursor"]
    # when
    response = api.get("/api/products", {"page_size": 1, "cursor": cursor, "page": 2})
    # then
    assert response.status_code == 400
    assert "cursor" in _error(response)["details"]


def test_relevance_has_offset_pages_but_no_cursor(api):
    # given
    for index in range(3):
        ProductFactory(name=f"Kettle {index}")
    # when
    body = api.get("/api/products", {"search": "kettle", "ordering": "relevance", "page_size": 2})
    # then
    assert body.status_code == 200
    assert body.json()["next_cursor"] is None
    assert "page=2" in body.json()["next"]
