"""The gradual cut-over: a share of a service's calls goes to its gRPC service, per user.

`CUTOVER=product:25,cart:0` names the services whose calls may be split while the phase still
keeps them in-process, each with its default share in percent. The share in force is the
admin's (Platform > Cut-over shares, a `CutoverShare` row in the edge's database), read again
every `CUTOVER_REFRESH_SECONDS`, so moving a service from 0 to 50 to 100 % (or back) needs no
restart; without a row the variable's share holds.

The choice is sticky: a call's routing key is hashed into one of 100 buckets, and the call goes
remote when its bucket is below the share. Raising the share only moves keys from in-process to
remote, never back. The key is the user: the saga runs each order's steps under its user's key
(`sticky()`), a call that names a `user_id` is keyed by it, and a routed call keeps its key for
the port calls it makes in turn, so one user's cart, checkouts and sagas stay on one adapter,
and one saga never mixes them. A call with no key at all (an anonymous catalogue read, a Stripe
webhook) is a draw at the share.

`cutover_calls_total{service,adapter}` counts the calls each adapter took.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from prometheus_client import Counter

logger = logging.getLogger(__name__)

CALLS = Counter(
    "cutover_calls", "Port calls of a service under cut-over, by adapter.", ("service", "adapter")
)

_key: ContextVar[str | None] = ContextVar("cutover_key", default=None)


@contextmanager
def sticky(key: str | None) -> Iterator[None]:
    """Route the port calls made inside the block by `key` (e.g. `user:42`)."""
    token = _key.set(key)
    try:
        yield
    finally:
        _key.reset(token)


def user_key(user_id: int) -> str:
    return f"user:{user_id}"


def routing_key(kwargs: Mapping[str, Any]) -> str | None:
    """The key a call is routed by: the one in force, else its `user_id` argument."""
    key = _key.get()
    if key is None and kwargs.get("user_id") is not None:
        key = user_key(kwargs["user_id"])
    return key


def bucket(key: str) -> int:
    """0-99, the same for a key in every process and every run."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


def goes_remote(percent: int, key: str | None) -> bool:
    if percent <= 0:
        return False
    if percent >= 100:
        return True
    if key is None:
        return random.random() * 100 < percent  # noqa: S311  (a share, not a secret)
    return bucket(key) < percent


class Shares:
    """The shares in force: the admin's rows over the `CUTOVER` defaults, re-read every
    `CUTOVER_REFRESH_SECONDS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._shares: dict[str, int] = {}
        self._warned = False

    def get(self, service: str) -> int:
        now = time.monotonic()
        if now - self._read_at >= settings.CUTOVER_REFRESH_SECONDS:
            with self._lock:
                if now - self._read_at >= settings.CUTOVER_REFRESH_SECONDS:
                    self._shares = self._read()
                    self._read_at = time.monotonic()
        return self._shares.get(service, settings.CUTOVER.get(service, 0))

    def _read(self) -> dict[str, int]:
        from ecommerce.models import CutoverShare

        shares = dict(settings.CUTOVER)
        try:
            shares.update(CutoverShare.objects.values_list("service", "percent"))
        except Exception as exc:  # the edge's database is down or not migrated: the defaults
            if not self._warned:
                logger.warning("cut-over shares unreadable, using CUTOVER: %s", exc)
                self._warned = True
        else:
            self._warned = False
        return shares

    def forget(self) -> None:
        with self._lock:
            self._read_at = float("-inf")


shares = Shares()


def share(service: str) -> int:
    """The percentage of `service`'s calls that go to its gRPC service now."""
    return shares.get(service)


def under_cutover(service: str) -> bool:
    return service in settings.CUTOVER


class CutoverRouter:
    """A service's port during the cut-over: each call goes to the in-process adapter or to
    the gRPC one, by its routing key and the service's share."""

    def __init__(self, service: str, local: Any, remote: Callable[[], Any]) -> None:
        self.service = service
        self.local = local
        self._remote_factory = remote
        self._remote: Any = None
        self._local_calls = CALLS.labels(service, "local")
        self._remote_calls = CALLS.labels(service, "remote")

    def remote(self) -> Any:
        if self._remote is None:
            self._remote = self._remote_factory()
        return self._remote

    def adapter_for(self, key: str | None) -> Any:
        """The adapter a call under `key` goes to now."""
        return self.remote() if goes_remote(share(self.service), key) else self.local

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        getattr(self.local, name)  # an unknown operation fails here, as on the adapter

        def call(*args: Any, **kwargs: Any) -> Any:
            key = routing_key(kwargs)
            adapter = self.adapter_for(key)
            (self._remote_calls if adapter is self._remote else self._local_calls).inc()
            with sticky(key):
                return getattr(adapter, name)(*args, **kwargs)

        call.__name__ = name
        return call
