"""The parallel run: a service's in-process answer, compared with its gRPC service's answer.

While a service is still in the monolith, `SHADOW=product,cart` makes the resolver hand callers
a `ShadowAdapter` for it: every call is answered by the in-process adapter, exactly as without
it, and each *read* is then made a second time against the service's gRPC adapter, on a small
bounded thread pool, after the caller has its answer. The two answers (a DTO, a list of them, or
the domain error raised) are compared field by field. What the caller sees never depends on the
remote side: its answer, its error and its latency are the in-process ones, plus handing the
call to the pool (a queue that is full drops the comparison and counts it, never waits).

Only reads are shadowed, the operations below (every one of them is marked idempotent in its
port's RPC table, and none changes a row). Writes are never sent twice: a stock hold, a cart
change, a charge or a refund has effects a second call cannot take back, and a dry run that
would compare without them does not exist in the services' contracts (holds and reservations
are idempotent per key, so a second call under the same key would *take* stock or lock a cart
in the service's database; a charge would reach Stripe). `find_by_idempotency_key` is left out
too: it brings an open payment up to date from Stripe, which writes the payment row.

Series, per service and operation (`/metrics`): `shadow_calls_total` (comparisons made),
`shadow_mismatches_total`, `shadow_errors_total` (the remote side failed: unreachable, or an
error that is not a domain error), `shadow_dropped_total` (the pool's queue was full) and
`shadow_remote_duration_seconds`. The first `SHADOW_LOG_MISMATCHES` mismatches of a process
are logged with both answers and the fields that differ.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from prometheus_client import Counter, Histogram

from ecommerce.contracts.errors import DomainError, ServiceUnavailable

logger = logging.getLogger(__name__)

# The operations a parallel run repeats against the remote service: the reads, and only those.
READS: dict[str, frozenset[str]] = {
    "product": frozenset({"get", "get_many", "list", "categories"}),
    "cart": frozenset({"get"}),
    "order": frozenset({"get", "list", "sagas"}),
    "payment": frozenset({"get"}),
}

# A logged mismatch names this many differing fields, and each answer up to this many characters.
LOGGED_DIFFERENCES = 8
LOGGED_ANSWER_CHARS = 4000

LABELS = ("service", "operation")
CALLS = Counter("shadow_calls", "Reads compared with the remote service.", LABELS)
MISMATCHES = Counter("shadow_mismatches", "Reads whose remote answer differed.", LABELS)
ERRORS = Counter("shadow_errors", "Reads the remote service failed to answer.", LABELS)
DROPPED = Counter("shadow_dropped", "Reads not compared: the shadow's queue was full.", LABELS)
REMOTE_DURATION = Histogram(
    "shadow_remote_duration_seconds",
    "How long the remote service took to answer a shadowed read.",
    LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def shadowed(service: str) -> bool:
    """Whether `SHADOW` names the service."""
    return service in settings.SHADOW


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What one side answered: a value, or the domain error it raised."""

    value: Any = None
    error: DomainError | None = None

    def shown(self) -> str:
        if self.error is not None:
            return f"{type(self.error).__name__}({self.error.message!r})"
        return repr(self.value)


def differences(local: Any, remote: Any, path: str = "") -> Iterator[str]:
    """Where two answers differ, field by field: `items[0].price: 1850 != 1900`."""
    where = path or "answer"
    if dataclasses.is_dataclass(local) and not isinstance(local, type):
        if type(local) is not type(remote):
            yield f"{where}: {type(local).__name__} != {type(remote).__name__}"
            return
        for field in dataclasses.fields(local):
            name = f"{path}.{field.name}" if path else field.name
            yield from differences(getattr(local, field.name), getattr(remote, field.name), name)
    elif isinstance(local, list | tuple) and isinstance(remote, list | tuple):
        if len(local) != len(remote):
            yield f"{where}: {len(local)} items != {len(remote)} items"
        for index, (one, other) in enumerate(zip(local, remote, strict=False)):
            yield from differences(one, other, f"{path}[{index}]")
    elif local != remote or type(local) is not type(remote):
        yield f"{where}: {local!r} != {remote!r}"


def outcome_differences(local: Outcome, remote: Outcome) -> list[str]:
    if local.error is not None or remote.error is not None:
        mine = type(local.error).__name__ if local.error is not None else "an answer"
        theirs = type(remote.error).__name__ if remote.error is not None else "an answer"
        return [] if mine == theirs else [f"raised: {mine} != {theirs}"]
    return list(differences(local.value, remote.value))


class ShadowPool:
    """A few threads and a bounded queue: a comparison that finds it full is dropped."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = max(1, workers)
        self._slots = threading.BoundedSemaphore(self.workers + max(0, queue))
        self._idle = threading.Condition()
        self._pending = 0
        self._executor: ThreadPoolExecutor | None = None
        self._pid = 0

    def submit(self, job: Callable[[], None]) -> bool:
        if not self._slots.acquire(blocking=False):
            return False
        with self._idle:
            self._pending += 1
        try:
            self._pool().submit(self._run, job)
        except RuntimeError:  # shutting down
            self._done()
            return False
        return True

    def _pool(self) -> ThreadPoolExecutor:
        # A forked worker (gunicorn, Celery's prefork pool) starts a pool of its own.
        if self._executor is None or self._pid != os.getpid():
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="shadow")
            self._pid = os.getpid()
        return self._executor

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # a comparison never takes the pool down
            logger.exception("shadow comparison failed")
        finally:
            self._done()

    def _done(self) -> None:
        self._slots.release()
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 10) -> bool:
        """Wait until every comparison handed over so far has finished."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True


_pool_lock = threading.Lock()
_pool: ShadowPool | None = None
_logged = 0
_logged_lock = threading.Lock()


def pool() -> ShadowPool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ShadowPool(settings.SHADOW_WORKERS, settings.SHADOW_QUEUE)
        return _pool


def wait_idle(timeout: float = 10) -> bool:
    """Wait for the comparisons in flight (tests, benchmarks, a clean shutdown)."""
    return pool().wait_idle(timeout)


def reset() -> None:
    """Forget the pool and the mismatch log count (after the settings change, in tests)."""
    global _pool, _logged
    with _pool_lock:
        if _pool is not None:
            _pool.wait_idle(5)
        _pool = None
    with _logged_lock:
        _logged = 0


def _log_mismatch(
    service: str, operation: str, call: str, local: Outcome, remote: Outcome, found: list[str]
) -> None:
    global _logged
    with _logged_lock:
        if _logged >= settings.SHADOW_LOG_MISMATCHES:
            return
        _logged += 1
    listed = found[:LOGGED_DIFFERENCES]
    if len(found) > len(listed):
        listed.append(f"and {len(found) - len(listed)} more")
    logger.warning(
        "shadow mismatch %s.%s%s: %s; in-process %s; remote %s",
        service,
        operation,
        call,
        "; ".join(listed),
        _clipped(local.shown()),
        _clipped(remote.shown()),
        extra={"shadow_service": service, "shadow_operation": operation},
    )


def _clipped(text: str) -> str:
    return text if len(text) <= LOGGED_ANSWER_CHARS else f"{text[:LOGGED_ANSWER_CHARS]}..."


def _call_text(args: tuple, kwargs: dict) -> str:
    shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"({', '.join(shown)})"


def compare(
    service: str, operation: str, remote_call: Callable[[], Any], local: Outcome, call: str = ""
) -> None:
    """Make the remote call and compare its answer with `local`; count (and log) the result."""
    labels = (service, operation)
    started = time.perf_counter()
    try:
        remote = Outcome(value=remote_call())
    except ServiceUnavailable as exc:
        REMOTE_DURATION.labels(*labels).observe(time.perf_counter() - started)
        ERRORS.labels(*labels).inc()
        logger.debug("shadow %s.%s: the remote service failed: %s", service, operation, exc)
        return
    except DomainError as exc:
        remote = Outcome(error=exc)
    except Exception as exc:
        REMOTE_DURATION.labels(*labels).observe(time.perf_counter() - started)
        ERRORS.labels(*labels).inc()
        logger.debug("shadow %s.%s: the remote call failed: %r", service, operation, exc)
        return
    REMOTE_DURATION.labels(*labels).observe(time.perf_counter() - started)
    CALLS.labels(*labels).inc()
    found = outcome_differences(local, remote)
    if found:
        MISMATCHES.labels(*labels).inc()
        _log_mismatch(service, operation, call, local, remote, found)


class ShadowAdapter:
    """A service's port in a parallel run: the in-process adapter answers, reads are compared
    with the remote adapter's answers off the caller's path; writes go to the in-process
    adapter only."""

    def __init__(self, service: str, local: Any, remote: Callable[[], Any]) -> None:
        self.service = service
        self.local = local
        self._remote_factory = remote
        self._remote: Any = None
        self._reads = READS.get(service, frozenset())
        # Every read's series from the start, at 0: a rate, and the alert's increase(), then
        # count the first mismatch or error too (a series born at 1 shows no increase).
        for operation in self._reads:
            for counter in (CALLS, MISMATCHES, ERRORS, DROPPED):
                counter.labels(service, operation)

    def remote(self) -> Any:
        if self._remote is None:
            self._remote = self._remote_factory()
        return self._remote

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.local, name)
        if name not in self._reads:
            return attribute
        return self._shadowed(name, attribute)

    def _shadowed(self, operation: str, local_method: Callable[..., Any]) -> Callable[..., Any]:
        service = self.service

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                value = local_method(*args, **kwargs)
            except DomainError as exc:
                self._hand_over(operation, args, kwargs, Outcome(error=exc))
                raise
            self._hand_over(operation, args, kwargs, Outcome(value=value))
            return value

        call.__name__ = operation
        call.__qualname__ = f"{type(self).__name__}.{service}.{operation}"
        return call

    def _hand_over(self, operation: str, args: tuple, kwargs: dict, local: Outcome) -> None:
        def job() -> None:
            method = getattr(self.remote(), operation)
            compare(
                self.service,
                operation,
                lambda: method(*args, **kwargs),
                local,
                _call_text(args, kwargs),
            )

        if not pool().submit(job):
            DROPPED.labels(self.service, operation).inc()
