"""The cart's public API: the caller's own cart only, through the cart port."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.cart.api.serializers import MAX_ID, CartItemAddInput, CartItemUpdateInput, CartOutput
from ecommerce.api.bodies import line_body
from ecommerce.api.errors import error_responses
from ecommerce.contracts.cart.errors import CartItemNotFound
from ecommerce.contracts.cart.port import CartData
from ecommerce.wiring import resolver


def cart_body(cart: CartData) -> dict:
    return {
        "items": [line_body(line) for line in cart.items],
        "total": cart.total,
        "currency": cart.currency,
    }


class CartApi(APIView):
    @extend_schema(
        summary="The caller's cart",
        responses={200: CartOutput, **error_responses(401)},
        operation_id="cart_retrieve",
    )
    def get(self, request: Request) -> Response:
        return Response(cart_body(resolver.cart().get(user_id=request.user.pk)))


class CartItemsApi(APIView):
    @extend_schema(
        summary="Add a product to the cart, or add to its line",
        request=CartItemAddInput,
        responses={201: CartOutput, **error_responses(400, 401, 404, 409, 415, 422)},
        operation_id="cart_items_add",
    )
    def post(self, request: Request) -> Response:
        data = CartItemAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        cart = resolver.cart().add_item(user_id=request.user.pk, **data.validated_data)
        return Response(cart_body(cart), status=status.HTTP_201_CREATED)


class CartItemApi(APIView):
    @extend_schema(
        summary="Set the quantity of a line",
        request=CartItemUpdateInput,
        responses={200: CartOutput, **error_responses(400, 401, 404, 409, 415, 422)},
        operation_id="cart_items_update",
    )
    def patch(self, request: Request, product_id: int) -> Response:
        data = CartItemUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        self._check(product_id)
        cart = resolver.cart().set_quantity(
            user_id=request.user.pk, product_id=product_id, **data.validated_data
        )
        return Response(cart_body(cart))

    @extend_schema(
        summary="Remove a line",
        responses={204: None, **error_responses(401, 404)},
        operation_id="cart_items_remove",
    )
    def delete(self, request: Request, product_id: int) -> Response:
        self._check(product_id)
        resolver.cart().remove_item(user_id=request.user.pk, product_id=product_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _check(product_id: int) -> None:
        if product_id > MAX_ID:
            raise CartItemNotFound(f"Product {product_id} is not in the cart.")
