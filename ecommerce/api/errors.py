"""One error shape for every client: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from ecommerce.contracts.errors import DomainError

logger = logging.getLogger(__name__)

_DRF_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "validation_error",
}


class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Stable and machine-readable, e.g. `out_of_stock`.")
    message = serializers.CharField(help_text="For people.")
    details = serializers.DictField(
        help_text="Per field for validation errors (`{field: [messages]}`), else context."
    )


class ErrorOutput(serializers.Serializer):
    error = ErrorDetailOutput()


_MEANINGS = {
    400: "Invalid input: `validation_error` (details per field), `malformed_request` (not JSON), "
    "`invalid_request`.",
    401: "No or an invalid `Authorization: Token <token>` header.",
    403: "Authenticated, but not allowed.",
    404: "No such resource (`product_not_found`, `cart_item_not_found`, ...).",
    409: "Conflicts with the current state (`out_of_stock`, `cart_locked`, ...).",
    415: "The body is not `application/json`.",
    422: "The product is not for sale (`product_unavailable`).",
    429: "Too many requests (`throttled`): retry after `Retry-After` seconds.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an endpoint, for its `extend_schema(responses=...)`."""
    return {
        code: OpenApiResponse(ErrorOutput, description=_MEANINGS.get(code, "An error."))
        for code in statuses
    }


def _no_nul(schema: dict) -> None:
    # DRF refuses a NUL character in any string it reads (ProhibitNullCharactersValidator).
    if schema.get("type") == "string" and not ({"pattern", "enum", "format"} & schema.keys()):
        schema["pattern"] = "^[^\\x00]*$"


def add_common_errors(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the errors the framework itself may answer, on
    every operation that can give them, so no answer of the API is undocumented.

    A string it reads never holds NUL. A token-protected operation may answer 401; a body may be malformed (400) or not JSON
    (415); a query or header parameter may be refused (400); an id in the path may name
    nothing (404).
    """
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            for field in component.get("properties", {}).values():
                _no_nul(field)
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for parameter in operation.get("parameters", []):
                _no_nul(parameter.get("schema", {}))
            statuses: set[int] = set()
            if any(requirement for requirement in operation.get("security", [])):
                statuses.add(401)
            if "requestBody" in operation:
                statuses |= {400, 415}
            kinds = {parameter.get("in") for parameter in operation.get("parameters", [])}
            if kinds & {"query", "header"}:
                statuses.add(400)
            if "path" in kinds:
                statuses.add(404)
            responses = operation.setdefault("responses", {})
            for code in sorted(statuses):
                responses.setdefault(
                    str(code),
                    {
                        "description": _MEANINGS.get(code, "An error."),
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ErrorOutput"}
                            }
                        },
                    },
                )
    return result


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def exception_handler(exc, context):
    """DRF's exception handler: domain errors and DRF's own, all in the one shape."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = "The request is not valid."
    else:
        details = {}
        message = str(exc.detail)
    response = Response(error_body(code, message, details), status=exc.status_code)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response["WWW-Authenticate"] = 'Token realm="api"'
        response.status_code = status.HTTP_401_UNAUTHORIZED
    if isinstance(exc, exceptions.Throttled):
        # whole seconds, rounded up: a client that waits that long is let through
        response["Retry-After"] = str(max(1, math.ceil(exc.wait or 1)))
    return response


def not_found_view(request, exception=None):
    return JsonResponse(error_body("not_found", "No such resource."), status=404)


def server_error_view(request):
    return JsonResponse(error_body("internal_error", "Something went wrong."), status=500)


def bad_request_view(request, exception=None):
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def forbidden_view(request, exception=None):
    return JsonResponse(error_body("permission_denied", "Forbidden."), status=403)
