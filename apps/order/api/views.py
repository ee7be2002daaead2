"""Checkout and orders: thin views over the order port."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.order.api.serializers import (
    CheckoutInput,
    CheckoutOutput,
    OrderOutput,
    SagaListInput,
    SagaPageOutput,
)
from ecommerce.api.bodies import line_body
from ecommerce.api.errors import error_responses
from ecommerce.api.throttles import CheckoutThrottle
from ecommerce.contracts.errors import InvalidRequest, NotFound
from ecommerce.contracts.keys import KEY_PATTERN
from ecommerce.contracts.order.errors import OrderNotFound
from ecommerce.contracts.order.port import OrderData, SagaSummaryData
from ecommerce.wiring import resolver

MAX_ID = 2**63 - 1


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def order_body(order: OrderData) -> dict:
    return {
        "id": order.id,
        "status": order.status,
        "failure_reason": order.failure_reason,
        "lines": [line_body(line) for line in order.lines],
        "total": order.total,
        "currency": order.currency,
        "created_at": _iso(order.created_at),
        "trace_id": order.trace_id or None,
        "saga": {
            "step": order.saga_step,
            "history": [
                {
                    "step": step.step,
                    "status": step.status,
                    "attempts": step.attempts,
                    "started_at": _iso(step.started_at),
                    "finished_at": _iso(step.finished_at),
                    "error": step.error,
                }
                for step in order.saga_history
            ],
        },
    }


class CheckoutApi(APIView):
    throttle_classes = [CheckoutThrottle]

    @extend_schema(
        request=CheckoutInput,
        responses={201: CheckoutOutput, **error_responses(400, 401, 409, 415, 429)},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                {"type": "string", "pattern": KEY_PATTERN},
                OpenApiParameter.HEADER,
                required=True,
                description="The same key from the same user returns the same order.",
            )
        ],
        operation_id="checkout_create",
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            raise InvalidRequest(
                "The Idempotency-Key header is required.",
                {"Idempotency-Key": ["This header is required."]},
            )
        data = CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = resolver.order().checkout(
            user_id=request.user.pk,
            idempotency_key=key,
            payment_method=data.validated_data["payment_method"],
        )
        response = Response(
            {"order_id": result.order.id, "status": result.order.status},
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/orders/{result.order.id}"},
        )
        if not result.created:
            response["Idempotent-Replayed"] = "true"
        return response


class OrderListApi(APIView):
    @extend_schema(
        responses={200: OrderOutput(many=True), **error_responses(401)}, operation_id="orders_list"
    )
    def get(self, request: Request) -> Response:
        return Response([order_body(o) for o in resolver.order().list(user_id=request.user.pk)])


class OrderDetailApi(APIView):
    @extend_schema(
        responses={200: OrderOutput, **error_responses(401, 404)}, operation_id="orders_retrieve"
    )
    def get(self, request: Request, order_id: int) -> Response:
        if order_id > MAX_ID:
            raise OrderNotFound(f"Order {order_id} does not exist.")
        return Response(
            order_body(resolver.order().get(order_id=order_id, user_id=request.user.pk))
        )


def _admin_url(saga_id: int) -> str | None:
    try:
        return reverse("admin:order_checkoutsaga_change", args=[saga_id])
    except NoReverseMatch:  # the order's data lives in its own service: not in this admin
        return None


def saga_body(saga: SagaSummaryData) -> dict:
    return {
        "saga_id": saga.saga_id,
        "order_id": saga.order_id,
        "user_id": saga.user_id,
        "state": saga.state,
        "step": saga.step,
        "failure_reason": saga.failure_reason,
        "created_at": _iso(saga.created_at),
        "updated_at": _iso(saga.updated_at),
        "finished_at": _iso(saga.finished_at),
        "stuck": saga.stuck,
        "admin_url": _admin_url(saga.saga_id),
    }


class SagaListApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="The sagas that need a look: failed, stuck or compensating (staff only)",
        description="The latest moved first, `page_size` to a page. A page past the last one "
        "is a 404.",
        parameters=[SagaListInput],
        responses={200: SagaPageOutput, **error_responses(400, 401, 403, 404)},
        operation_id="sagas_list",
    )
    def get(self, request: Request) -> Response:
        query = SagaListInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        offset = (q["page"] - 1) * q["page_size"]
        page = resolver.order().sagas(state=q["state"], offset=offset, limit=q["page_size"])
        if q["page"] > 1 and not page.sagas:
            raise NotFound("That page is past the last one.", {"page": [q["page"]]})

        def link(number: int) -> str:
            params = request.query_params.copy()
            params["page"] = str(number)
            return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

        return Response(
            {
                "count": page.count,
                "next": link(q["page"] + 1) if offset + len(page.sagas) < page.count else None,
                "previous": link(q["page"] - 1) if q["page"] > 1 else None,
                "results": [saga_body(saga) for saga in page.sagas],
            }
        )
