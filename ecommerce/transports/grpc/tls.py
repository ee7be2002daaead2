"""Mutual TLS between services: the credentials a server and its callers build from settings.

Every process has one certificate (GRPC_TLS_CERT, GRPC_TLS_KEY), signed by the CA every process
trusts (GRPC_TLS_CA). It serves with it and presents it when it calls, so each end of a call
proves itself to the other: a server refuses a caller without a certificate from that CA, and a
caller refuses a server whose certificate does not name the host it dialled. The service token
is still checked on every call (ecommerce.transports.grpc.interceptors). With none of the three set, gRPC
is plaintext, as `make run` on one machine has it.
"""

from __future__ import annotations

from pathlib import Path

import grpc
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def enabled() -> bool:
    # settings.base refuses a half-set trio, so one of them stands for all three.
    return bool(settings.GRPC_TLS_CA)


def _read(name: str) -> bytes:
    path = getattr(settings, name)
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}={path}: {exc.strerror}") from None


def channel_credentials() -> grpc.ChannelCredentials:
    """What a caller dials with: the CA it checks the server against, and its own certificate."""
    return grpc.ssl_channel_credentials(
        root_certificates=_read("GRPC_TLS_CA"),
        private_key=_read("GRPC_TLS_KEY"),
        certificate_chain=_read("GRPC_TLS_CERT"),
    )


def server_credentials() -> grpc.ServerCredentials:
    """What a server listens with: its certificate, and a caller's required, from the CA."""
    return grpc.ssl_server_credentials(
        [(_read("GRPC_TLS_KEY"), _read("GRPC_TLS_CERT"))],
        root_certificates=_read("GRPC_TLS_CA"),
        require_client_auth=True,
    )
