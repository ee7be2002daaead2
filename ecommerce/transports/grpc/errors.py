"""Domain errors across the wire: a status code for the transport, the domain code in metadata.

The server puts the error's `code` and its `details` (JSON) in the trailing metadata; the client
rebuilds the very class the in-process adapter would have raised, by `error_classes()[code]`.
"""

from __future__ import annotations

import json

import grpc

import ecommerce.contracts.cart.errors
import ecommerce.contracts.order.errors
import ecommerce.contracts.payment.errors
import ecommerce.contracts.product.errors  # noqa: F401 - with the three above, for error_classes()
from ecommerce.contracts.errors import (
    DomainError,
    InvalidRequest,
    ServiceUnavailable,
    error_classes,
)

CODE_KEY = "ecommerce-error-code"
DETAILS_KEY = "ecommerce-error-details-bin"  # `-bin`: gRPC carries the value as raw bytes
# A negative retry pushback tells the caller's grpcio not to retry (gRFC A6): a domain error is
# the service's answer, not a transport failure, even when its status is UNAVAILABLE.
NO_RETRY = ("grpc-retry-pushback-ms", "-1")

_BY_HTTP_STATUS = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    402: grpc.StatusCode.FAILED_PRECONDITION,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    422: grpc.StatusCode.FAILED_PRECONDITION,
    503: grpc.StatusCode.UNAVAILABLE,
}
# Every service's errors, imported so that error_classes() knows each code.
_CLASSES = error_classes()


def status_for(error: DomainError) -> grpc.StatusCode:
    if isinstance(error, InvalidRequest):
        # a refused argument, whatever the REST status it maps to (a bad webhook signature: 401)
        return grpc.StatusCode.INVALID_ARGUMENT
    return _BY_HTTP_STATUS.get(error.http_status, grpc.StatusCode.FAILED_PRECONDITION)


def trailing_metadata_for(error: DomainError) -> tuple[tuple[str, str | bytes], ...]:
    details = json.dumps(error.details, default=str).encode()
    return ((CODE_KEY, error.code), (DETAILS_KEY, details), NO_RETRY)


def domain_error(error: grpc.RpcError, *, service: str) -> DomainError:
    """The exception the in-process adapter would have raised for this failed call."""
    metadata = dict(error.trailing_metadata() or ())
    code = metadata.get(CODE_KEY)
    if code is not None:
        cls = _CLASSES.get(code, DomainError)
        try:
            details = json.loads(metadata.get(DETAILS_KEY) or b"{}")
        except ValueError:
            details = {}
        exc = cls(error.details() or "", details)
        if cls is DomainError:
            exc.code = code
        return exc
    status = error.code()
    return ServiceUnavailable(
        f"The {service} service is unavailable ({status.name.lower()}); retry later.",
        {"service": service, "grpc_status": status.name},
    )
