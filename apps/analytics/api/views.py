"""The analytics API: the live aggregates, for staff only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.analytics import selectors
from apps.analytics.api.serializers import AnalyticsSummaryOutput, AnalyticsSummaryQuery
from ecommerce.api.errors import error_responses


class AnalyticsSummaryApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Live aggregates of the domain events (staff only)",
        parameters=[AnalyticsSummaryQuery],
        responses={200: AnalyticsSummaryOutput, **error_responses(400, 401, 403)},
        operation_id="analytics_summary",
    )
    def get(self, request: Request) -> Response:
        query = AnalyticsSummaryQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.analytics_summary(**query.validated_data))
