"""One orchestrator at a time per saga, released by PostgreSQL even if the holder is killed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

DB = "order"
_LOCK_CLASS = 7001  # advisory-lock namespace of the checkout saga


@contextmanager
def saga_lock(order_id: int, *, wait: float = 0.0) -> Iterator[bool]:
    """Yield True if this process now drives the saga, False if another live one does
    (still, after up to `wait` seconds).

    A session-level advisory lock dies with its connection, so a SIGKILLed worker never leaves
    a saga locked. Other databases (SQLite in embedded mode) run one worker thread and need none.
    """
    connection = connections[DB]
    if connection.vendor != "postgresql":
        yield True
        return
    key = order_id & 0x7FFFFFFF
    deadline = time.monotonic() + wait
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, key])
            acquired = cursor.fetchone()[0]
            if acquired or time.monotonic() >= deadline:
                break
            time.sleep(0.01)
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, key])
