"""The catalogue's public API: thin views over the product port, cached in front."""

from __future__ import annotations

from urllib.parse import urlencode

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.product import cache
from apps.product.api.serializers import (
    CategoryOutput,
    ProductListInput,
    ProductOutput,
    ProductPageOutput,
)
from ecommerce.api.errors import error_responses
from ecommerce.contracts.errors import NotFound
from ecommerce.contracts.product.errors import ProductNotFound
from ecommerce.contracts.product.port import ProductData, ProductQuery
from ecommerce.wiring import resolver

MAX_ID = 2**63 - 1


def product_body(product: ProductData) -> dict:
    return {
        "id": product.id,
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "price": product.price,
        "currency": product.currency,
        "category": product.category_slug,
        "available": product.available,
    }


class CategoryListApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        summary="Every category, by name",
        responses=CategoryOutput(many=True),
        auth=[],
        operation_id="categories_list",
    )
    def get(self, request: Request) -> Response:
        body = cache.category_list(
            lambda: [
                {"id": c.id, "name": c.name, "slug": c.slug}
                for c in resolver.product().categories()
            ]
        )
        return Response(body)


class ProductListApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        summary="A page of the products on sale",
        description="`search` matches words of the name or description (each word may be the "
        "beginning of one) or the exact SKU; `category` is a category's slug or id. Two ways to "
        "page: `page` (offset pages, with `count` bounded at 1,000 and `count_capped`), or "
        "`cursor`, a page's `next_cursor`/`previous_cursor`, which costs the same at any depth "
        "and counts nothing (`count` null). `next` and `previous` are links in the same way. "
        "A page past the last one is a 404.",
        parameters=[ProductListInput],
        responses={200: ProductPageOutput, **error_responses(400, 404)},
        auth=[],
        operation_id="products_list",
    )
    def get(self, request: Request) -> Response:
        params = ProductListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        p = params.validated_data
        cursor = p.get("cursor", "")
        query = ProductQuery(
            search=p.get("search", "").strip(),
            category=p.get("category", "").strip(),
            ordering=p["ordering"],
            offset=0 if cursor else (p["page"] - 1) * p["page_size"],
            limit=p["page_size"],
            cursor=cursor,
            skip_count=bool(cursor),
        )
        key = urlencode(sorted((k, str(v)) for k, v in p.items()))

        def load() -> dict:
            page = resolver.product().list(query)
            return {
                "count": None if cursor else page.count,
                "count_capped": page.count_capped,
                "next_cursor": page.next_cursor or None,
                "previous_cursor": page.previous_cursor or None,
                "results": [product_body(item) for item in page.items],
            }

        body = cache.product_list(key, load)
        if cursor:
            return Response(
                {
                    "count": None,
                    "next": self._link(request, cursor=body["next_cursor"]),
                    "previous": self._link(request, cursor=body["previous_cursor"]),
                    **self._rest(body),
                }
            )
        if p["page"] > 1 and not body["results"]:
            raise NotFound("That page is past the last one.", {"page": [p["page"]]})
        return Response(
            {
                "count": body["count"],
                "next": self._link(request, page=p["page"] + 1)
                if body["count_capped"] or query.offset + query.limit < body["count"]
                else None,
                "previous": self._link(request, page=p["page"] - 1) if p["page"] > 1 else None,
                **self._rest(body),
            }
        )

    @staticmethod
    def _rest(body: dict) -> dict:
        return {
            "results": body["results"],
            "count_capped": body["count_capped"],
            "next_cursor": body["next_cursor"],
            "previous_cursor": body["previous_cursor"],
        }

    @staticmethod
    def _link(
        request: Request, *, page: int | None = None, cursor: str | None = None
    ) -> str | None:
        params = request.query_params.copy()
        if page is not None:
            params["page"] = str(page)
        elif cursor:
            params["cursor"] = cursor
        else:
            return None
        return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


class ProductDetailApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        summary="One product on sale",
        responses={200: ProductOutput, **error_responses(404)},
        auth=[],
        operation_id="products_retrieve",
    )
    def get(self, request: Request, product_id: int) -> Response:
        if product_id > MAX_ID:
            raise ProductNotFound(
                f"Product {product_id} does not exist.", {"product_id": product_id}
            )

        def load() -> dict | None:
            try:
                product = resolver.product().get(product_id)
            except ProductNotFound:
                return None
            return product_body(product) if product.is_active else None

        body = cache.product_detail(product_id, load)
        if body is None:
            raise ProductNotFound(
                f"Product {product_id} does not exist.", {"product_id": product_id}
            )
        return Response(body)
