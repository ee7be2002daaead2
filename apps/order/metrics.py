"""The checkout saga's series: sagas started and ended by outcome and reason, how long each took
from its order's commit to its end, each step's and compensation's duration (from its row's
start to its recorded outcome, retries and the wait for a reply included), and, read at scrape
time by the worker that drives sagas, how many are unfinished and how many look stuck."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from apps.order.models import DB

_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

SAGAS_STARTED = Counter("saga_started_total", "Checkout sagas started (their order committed).")
SAGAS_COMPLETED = Counter("saga_completed_total", "Checkout sagas that ended COMPLETED.")
SAGAS_FAILED = Counter(
    "saga_failed_total", "Checkout sagas that ended FAILED, compensated, by reason.", ["reason"]
)
SAGA_DURATION = Histogram(
    "saga_duration_seconds",
    "A checkout from its order's commit to its saga's end (COMPLETED, or FAILED once "
    "compensated), by outcome.",
    ["outcome"],
    buckets=_DURATION_BUCKETS,
)
STEP_DURATION = Histogram(
    "saga_step_duration_seconds",
    "A forward step from its first attempt to its recorded outcome, by step and outcome.",
    ["step", "outcome"],
    buckets=_DURATION_BUCKETS,
)
COMPENSATION_DURATION = Histogram(
    "saga_compensation_duration_seconds",
    "A compensation step from its first attempt to its recorded outcome, by step and outcome.",
    ["step", "outcome"],
    buckets=_DURATION_BUCKETS,
)


def _on_commit(record) -> None:
    """Count what the order database committed, not what a rolled-back transaction tried."""
    transaction.on_commit(record, using=DB)


def saga_started() -> None:
    _on_commit(SAGAS_STARTED.inc)


def saga_ended(*, completed: bool, reason: str = "", started_at: datetime | None = None) -> None:
    if completed:
        _on_commit(SAGAS_COMPLETED.inc)
    else:
        _on_commit(SAGAS_FAILED.labels(reason or "unknown").inc)
    if started_at is not None:
        seconds = max((timezone.now() - started_at).total_seconds(), 0.0)
        outcome = "completed" if completed else "failed"
        _on_commit(lambda: SAGA_DURATION.labels(outcome).observe(seconds))


def step_ended(name: str, outcome: str, started_at: datetime | None, *, compensation: bool) -> None:
    if started_at is None:
        return
    seconds = max((timezone.now() - started_at).total_seconds(), 0.0)
    histogram = COMPENSATION_DURATION if compensation else STEP_DURATION
    _on_commit(lambda: histogram.labels(name, outcome.lower()).observe(seconds))


def unfinished_families():
    """Read at scrape time: unfinished sagas by state, those that have not moved for
    SAGA_STUCK_SECONDS (the sweep re-drives them; a number that stays up is an incident), and
    the age of the oldest unfinished one."""
    from apps.order import selectors

    unfinished = selectors.sagas_unfinished()
    by_state = GaugeMetricFamily(
        "saga_unfinished", "Checkout sagas not yet COMPLETED or FAILED, by state.", labels=["state"]
    )
    counts = dict.fromkeys(("RUNNING", "COMPENSATING"), 0)
    for state in unfinished.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    for state, count in sorted(counts.items()):
        by_state.add_metric([state], count)
    stuck = GaugeMetricFamily(
        "saga_stuck",
        "Unfinished checkout sagas that have not moved for SAGA_STUCK_SECONDS.",
        value=selectors.sagas_stuck().count(),
    )
    oldest = unfinished.aggregate(oldest=Min("created_at"))["oldest"]
    age = GaugeMetricFamily(
        "saga_oldest_unfinished_age_seconds",
        "Age of the oldest unfinished checkout saga (0 when none).",
        value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
    )
    return [by_state, stuck, age]
