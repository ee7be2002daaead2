"""One orchestrator at a time per saga, released even if the holder is killed.

PostgreSQL (services mode): a session-level advisory lock, which dies with its connection.
SQLite (embedded mode): an exclusive `flock` on a file per order (the `filelock` library), which
the kernel drops when the holder's process dies. Either way a SIGKILLed worker never leaves a
saga locked, and the worker, the sweep and the admin's retry and force-compensation in the web
process all take the same lock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connections
from filelock import FileLock, Timeout

from apps.order.models import DB

_LOCK_CLASS = 7001  # advisory-lock namespace of the checkout saga
_POLL = 0.01


@contextmanager
def saga_lock(order_id: int, *, wait: float = 0.0) -> Iterator[bool]:
    """Yield True if this process now drives the saga, False if another live one does
    (still, after up to `wait` seconds)."""
    if connections[DB].vendor == "postgresql":
        with _advisory_lock(order_id, wait) as acquired:
            yield acquired
    else:
        with _file_lock(order_id, wait) as acquired:
            yield acquired


@contextmanager
def _advisory_lock(order_id: int, wait: float) -> Iterator[bool]:
    connection = connections[DB]
    key = order_id & 0x7FFFFFFF
    deadline = time.monotonic() + wait
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, key])
            acquired = cursor.fetchone()[0]
            if acquired or time.monotonic() >= deadline:
                break
            time.sleep(_POLL)
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, key])


def lock_path(order_id: int) -> Path:
    """The order's lock file: empty, kept after release so every waiter locks the same inode."""
    return Path(settings.SAGA_LOCK_DIR) / f"saga-{int(order_id)}.lock"


@contextmanager
def _file_lock(order_id: int, wait: float) -> Iterator[bool]:
    path = lock_path(order_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not thread-local and never a soft lock: a flock held on its own descriptor excludes
    # other threads of this process as well as other processes, and dies with its holder.
    lock = FileLock(path, thread_local=False, fallback_to_soft=False, poll_interval=_POLL)
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
