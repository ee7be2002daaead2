"""Counting events into the aggregates: once per event id, in one transaction per batch.

Every aggregate is a sum (or a flag that only turns on), so the order in which events arrive does
not change the result; only counting an event twice would, and the processed-events table,
written in the same transaction as the sums, prevents that.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import OperationalError, connections, models, transaction
from django.utils import timezone

from apps.analytics.events import Event
from apps.analytics.models import (
    DB,
    ActivityBucket,
    CatalogueEntry,
    FailureCount,
    Granularity,
    ProcessedEvent,
    ProductSales,
    RevenueBucket,
    Shopper,
)
from ecommerce.contracts.cart.events import CartItemAdded, CartItemRemoved
from ecommerce.contracts.order.events import (
    OrderCompleted,
    OrderCreated,
    OrderFailed,
    SagaStepFailed,
)
from ecommerce.contracts.payment.events import ChargeDeclined, ChargeSucceeded, PaymentRefunded
from ecommerce.contracts.product.events import ProductSnapshot, StockChanged
from ecommerce.wiring.failpoints import failpoint

_REASON_LENGTH = 200


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    counted: int
    duplicates: int


def _buckets(at: datetime) -> tuple[tuple[str, datetime], tuple[str, datetime]]:
    at = at.astimezone(UTC)
    minute = at.replace(second=0, microsecond=0)
    return (Granularity.MINUTE, minute), (Granularity.HOUR, minute.replace(minute=0))


class _Tally:
    """The batch's contribution to every aggregate, summed in memory before one write each."""

    def __init__(self) -> None:
        self.activity: defaultdict[tuple, Counter] = defaultdict(Counter)
        self.revenue: defaultdict[tuple, Counter] = defaultdict(Counter)
        self.failures: Counter[tuple] = Counter()
        self.sales: defaultdict[tuple, Counter] = defaultdict(Counter)
        self.shoppers: dict[int, dict[str, bool]] = {}
        self.catalogue: dict[int, tuple[datetime, str, str]] = {}

    def _count(self, event: Event, **counts: int) -> None:
        for bucket in _buckets(event.occurred_at):
            self.activity[bucket].update(counts)

    def _money(self, event: Event, currency: str, **amounts: int) -> None:
        for granularity, start in _buckets(event.occurred_at):
            self.revenue[(granularity, start, currency)].update(amounts)

    def _shopper(self, user_id: int, flag: str) -> None:
        self.shoppers.setdefault(user_id, {"added_to_cart": False, "checked_out": False})
        self.shoppers[user_id][flag] = True

    def add(self, event: Event) -> None:
        match event.payload:
            case OrderCreated(user_id=user_id):
                self._count(event, orders_created=1)
                self._shopper(user_id, "checked_out")
            case OrderCompleted(total=total, currency=currency, lines=lines):
                self._count(event, orders_completed=1)
                self._money(event, currency, revenue=total)
                for line in lines:
                    self.sales[(line.product_id, currency)].update(
                        units=line.quantity, revenue=line.quantity * line.unit_price
                    )
            case OrderFailed(reason=reason):
                self._count(event, orders_failed=1)
                self.failures[(FailureCount.Kind.ORDER, "", reason[:_REASON_LENGTH])] += 1
            case ChargeSucceeded(amount=amount, currency=currency):
                self._count(event, payments_succeeded=1)
                self._money(event, currency, captured=amount)
            case ChargeDeclined(decline_code=code):
                self._count(event, payments_declined=1)
                code = (code or "unknown")[:_REASON_LENGTH]
                self.failures[(FailureCount.Kind.PAYMENT_DECLINE, "", code)] += 1
            case PaymentRefunded(amount=amount, currency=currency):
                self._count(event, payments_refunded=1)
                self._money(event, currency, refunded=amount)
            case SagaStepFailed(step=step, reason=reason):
                self._count(event, saga_steps_failed=1)
                key = (FailureCount.Kind.SAGA_STEP, step[:64], reason[:_REASON_LENGTH])
                self.failures[key] += 1
            case CartItemAdded(user_id=user_id):
                self._count(event, cart_items_added=1)
                self._shopper(user_id, "added_to_cart")
            case CartItemRemoved():
                self._count(event, cart_items_removed=1)
            case StockChanged():
                self._count(event, stock_changes=1)
            case ProductSnapshot(product_id=product_id, sku=sku, name=name):
                known = self.catalogue.get(product_id)
                if known is None or known[0] <= event.occurred_at:
                    self.catalogue[product_id] = (event.occurred_at, sku[:64], name[:200])


def _column(model: type[models.Model], field: str) -> str:
    connection = connections[DB]
    return connection.ops.quote_name(model._meta.get_field(field).column)


def _adapt(value):
    if isinstance(value, datetime):
        return connections[DB].ops.adapt_datetimefield_value(value)
    return value


def _upsert(
    model: type[models.Model],
    keys: Sequence[str],
    rows: Iterable[dict],
    *,
    on_conflict: dict[str, str],
    where: str = "",
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, in one round of executemany.

    `on_conflict` maps a field to its SQL on conflict, with `{old}` and `{new}` standing for the
    stored and the incoming value (PostgreSQL and SQLite both speak this dialect).
    """
    rows = list(rows)
    if not rows:
        return
    connection = connections[DB]
    table = connection.ops.quote_name(model._meta.db_table)
    fields = list(rows[0])
    columns = ", ".join(_column(model, f) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    updates = ", ".join(
        f"{_column(model, f)} = "
        + sql.format(old=f"{table}.{_column(model, f)}", new=f"EXCLUDED.{_column(model, f)}")
        for f, sql in on_conflict.items()
    )
    conflict = ", ".join(_column(model, k) for k in keys)
    statement = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )
    if where:
        statement += " WHERE " + where.format(table=table)
    with connection.cursor() as cursor:
        cursor.executemany(statement, [[_adapt(row[f]) for f in fields] for row in rows])


def _add_counts(model, keys: Sequence[str], tallies: dict[tuple, Counter]) -> None:
    counters = model.COUNTERS
    _upsert(
        model,
        keys,
        (
            dict(zip(keys, key, strict=True)) | {c: counts.get(c, 0) for c in counters}
            for key, counts in sorted(tallies.items())
        ),
        on_conflict={c: "{old} + {new}" for c in counters},
    )


def _write(tally: _Tally) -> None:
    # Keys in sorted order, so two consumers writing the same rows lock them in the same order.
    _add_counts(ActivityBucket, ("granularity", "start"), tally.activity)
    _add_counts(RevenueBucket, ("granularity", "start", "currency"), tally.revenue)
    _add_counts(ProductSales, ("product_id", "currency"), tally.sales)
    _add_counts(
        FailureCount,
        ("kind", "step", "reason"),
        {k: Counter(count=n) for k, n in tally.failures.items()},
    )
    _upsert(
        Shopper,
        ("user_id",),
        ({"user_id": user_id} | flags for user_id, flags in sorted(tally.shoppers.items())),
        on_conflict={f: "{old} OR {new}" for f in ("added_to_cart", "checked_out")},
    )
    as_of = _column(CatalogueEntry, "as_of")
    _upsert(
        CatalogueEntry,
        ("product_id",),
        (
            {"product_id": pid, "as_of": at, "sku": sku, "name": name}
            for pid, (at, sku, name) in sorted(tally.catalogue.items())
        ),
        on_conflict={"as_of": "{new}", "sku": "{new}", "name": "{new}"},
        where=f"EXCLUDED.{as_of} >= {{table}}.{as_of}",
    )


def events_record(*, events: Sequence[Event]) -> RecordOutcome:
    """Count the events not counted before; one transaction for the batch, all or nothing."""
    unique = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    with transaction.atomic(using=DB):
        seen = set(
            ProcessedEvent.objects.using(DB)
            .filter(event_id__in=list(unique))
            .values_list("event_id", flat=True)
        )
        fresh = [event for event_id, event in unique.items() if event_id not in seen]
        if fresh:
            tally = _Tally()
            for event in fresh:
                tally.add(event)
            _write(tally)
            # Last, so processed_at is as close to the commit as the transaction allows; a
            # concurrent consumer that counted one of these first makes this insert fail and
            # the whole batch roll back, to be retried.
            processed_at = timezone.now()
            ProcessedEvent.objects.using(DB).bulk_create(
                ProcessedEvent(
                    event_id=e.event_id,
                    event_type=e.event_type,
                    occurred_at=e.occurred_at,
                    processed_at=processed_at,
                )
                for e in fresh
            )
            failpoint("analytics.before_commit", error=OperationalError)
    return RecordOutcome(counted=len(fresh), duplicates=len(events) - len(fresh))
