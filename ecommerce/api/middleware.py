"""Under /api/, every answer is JSON in the one error shape, whatever DEBUG says.

DRF's exception handler covers what a view raises on purpose; this covers the rest: an exception
no one handled (a bug, a database that stopped answering) and DEBUG's HTML pages, which would
otherwise reach an API client as Django's technical 500 or 404 page. A database that cannot
answer (down, restarting, or this request's connection ended) is 503 `service_unavailable`
with `Retry-After`, not a 500: the client may retry, with the same Idempotency-Key for a
checkout.
"""

from __future__ import annotations

import logging

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse

from ecommerce.api.errors import error_body

API_PREFIX = "/api/"
# Django's own logger for failed requests: it logged these before this middleware answered them.
logger = logging.getLogger("django.request")


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith(API_PREFIX)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            # DEBUG's page for a URL that matches no route.
            return JsonResponse(error_body("not_found", "No such resource."), status=404)
        return response

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, Http404):
            return JsonResponse(error_body("not_found", "No such resource."), status=404)
        if isinstance(exception, PermissionDenied):
            return JsonResponse(error_body("permission_denied", "Forbidden."), status=403)
        if isinstance(exception, BadRequest | SuspiciousOperation):
            return JsonResponse(error_body("bad_request", "Bad request."), status=400)
        if isinstance(exception, OperationalError | InterfaceError):
            # The database is down, restarting or cut this request's connection: nothing was
            # committed by the failed statement, and the next request opens a new connection.
            logger.warning("Database unavailable: %s: %s", request.path, exception)
            response = JsonResponse(
                error_body("service_unavailable", "The database is unavailable; retry shortly."),
                status=503,
            )
            response["Retry-After"] = "1"
            return response
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return JsonResponse(error_body("internal_error", "Something went wrong."), status=500)
