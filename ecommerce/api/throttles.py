"""Rate limits on the endpoints worth abusing: sign-up, sign-in (per client and per account)
and checkout. 429 in the error shape with `Retry-After` (ecommerce/api/errors.py).

DRF's throttle classes, with two changes. The rate is read from `settings.THROTTLE_RATES` on
every request (DRF copies its rates into a class attribute once, at import), so an operator's
or a test's settings hold at once. The count is one fixed-window counter per client and scope
in the Django cache, raised with the cache's atomic `incr` (Redis in services mode), so every
process and thread shares it and none can overwrite another's count, as DRF's read-then-write
history could.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^(\d+)/(\d*)(s|m|h|d)[a-z]*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parse(rate: str | None) -> tuple[int | None, int | None]:
    """`"5/m"` -> (5, 60); `"10/15m"` -> (10, 900); None or "" -> no limit."""
    if not rate:
        return None, None
    match = _RATE.match(rate.strip())
    if match is None or int(match[1]) < 1:
        raise ImproperlyConfigured(
            f"A throttle rate is 'N/period', e.g. '5/m' or '10/15m': {rate!r}"
        )
    return int(match[1]), int(match[2] or 1) * _SECONDS[match[3]]


class CacheRateThrottle(SimpleRateThrottle):
    """A fixed window of `duration` seconds holding at most `num_requests` per client."""

    def get_rate(self) -> str | None:
        return getattr(settings, "THROTTLE_RATES", {}).get(self.scope)

    def parse_rate(self, rate):
        return rate_parse(rate)

    def get_ident(self, request) -> str:
        # Only as many X-Forwarded-For hops as there are proxies of ours in front: without
        # one (THROTTLE_NUM_PROXIES=0) a client could name itself anyone.
        hops = settings.THROTTLE_NUM_PROXIES
        forwarded = request.headers.get("x-forwarded-for")
        if hops and forwarded:
            addresses = [a.strip() for a in forwarded.split(",")]
            return addresses[-min(hops, len(addresses))]
        return request.META.get("REMOTE_ADDR", "")

    def _window(self) -> tuple[str, float]:
        now = self.timer()
        window = int(now // self.duration)
        return f"throttle:{self.scope}:{self.key}:{window}", now

    def _read(self) -> int:
        key, _ = self._window()
        return int(cache.get(key) or 0)

    def _raise(self) -> int:
        key, _ = self._window()
        cache.add(key, 0, timeout=self.duration + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            count = None
        if count is None:  # the cache is down (its errors are ignored): let the request pass
            logger.warning("throttle %s: the cache keeps no count; not limiting", self.scope)
            return 0
        return int(count)

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return self._raise() <= self.num_requests

    def wait(self) -> float:
        _, now = self._window()
        return max(1, math.ceil(self.duration - now % self.duration))


class ClientThrottle(CacheRateThrottle):
    """Per client address."""

    def get_cache_key(self, request, view) -> str:
        return self.get_ident(request)


class UserThrottle(CacheRateThrottle):
    """Per signed-in user; anonymous callers per address."""

    def get_cache_key(self, request, view) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user-{user.pk}"
        return f"client-{self.get_ident(request)}"


class SignUpThrottle(ClientThrottle):
    scope = "sign_up"


class SignInThrottle(ClientThrottle):
    scope = "sign_in"


class SignInFailureThrottle(CacheRateThrottle):
    """Failed sign-ins per account, from anywhere: past the limit, the account takes no
    attempt, right or wrong, until its window ends. Only `failure()` counts."""

    scope = "sign_in_failures"

    def get_cache_key(self, request, view) -> str | None:
        data = request.data
        username = data.get("username") if isinstance(data, dict) else None
        if not isinstance(username, str) or not username:
            return None  # refused by validation; nothing to bound
        return "account-" + hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        return self.key is None or self._read() < self.num_requests

    @classmethod
    def record_failure(cls, request, view) -> None:
        throttle = cls()
        if throttle.rate is not None:
            throttle.key = throttle.get_cache_key(request, view)
            if throttle.key is not None:
                throttle._raise()


class CheckoutThrottle(UserThrottle):
    scope = "checkout"
