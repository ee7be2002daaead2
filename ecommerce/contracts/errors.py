"""The base domain errors every service's errors derive from (its own are in
ecommerce/contracts/<service>/errors.py), so a caller cannot tell in-process from remote.

Standard library only: these cross the gRPC boundary by `code` and are rendered to REST clients
as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a port may raise. `code` is stable and machine-readable."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = details or {}

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.message!r}, {self.details!r})"


class InvalidRequest(DomainError):
    """The request is not valid."""

    code = "invalid_request"
    http_status = 400


class NotFound(DomainError):
    """The resource does not exist."""

    code = "not_found"
    http_status = 404


class PermissionDenied(DomainError):
    """The caller may not do this."""

    code = "permission_denied"
    http_status = 403


class Conflict(DomainError):
    """The request conflicts with the current state."""

    code = "conflict"
    http_status = 409


class IdempotencyConflict(Conflict):
    """The idempotency key was already used with different parameters."""

    code = "idempotency_conflict"


class ServiceUnavailable(DomainError):
    """A service this request needs is unavailable; retry later."""

    code = "service_unavailable"
    http_status = 503


def error_classes() -> dict[str, type[DomainError]]:
    """Every DomainError subclass imported so far, by code: how a remote adapter maps a code back
    to a class (ecommerce.transports.grpc.errors imports every service's errors module first)."""
    found: dict[str, type[DomainError]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found
