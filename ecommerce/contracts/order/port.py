"""The order's port: checkouts, orders and the saga that completes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from ecommerce.contracts.remote import rpc


@dataclass(frozen=True, slots=True)
class OrderLineData:
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: int

    @property
    def line_total(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class SagaStepData:
    step: str
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str


@dataclass(frozen=True, slots=True)
class OrderData:
    id: int
    user_id: int
    status: str  # PENDING, COMPLETED or FAILED
    failure_reason: str
    lines: tuple[OrderLineData, ...]
    total: int
    currency: str
    created_at: datetime
    saga_step: str
    saga_history: tuple[SagaStepData, ...]
    # The trace of the checkout that placed it, hex; "" where tracing is off.
    trace_id: str = ""


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    order: OrderData
    created: bool


@dataclass(frozen=True, slots=True)
class SagaSummaryData:
    """Where one checkout's saga stands, for the people who look after the sagas."""

    saga_id: int
    order_id: int
    user_id: int
    state: str  # RUNNING, COMPENSATING, COMPLETED or FAILED
    step: str
    failure_reason: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    # Unfinished and not moved for the saga's stuck threshold (the `saga_stuck` gauge's rule).
    stuck: bool


@dataclass(frozen=True, slots=True)
class SagaPage:
    count: int
    sagas: tuple[SagaSummaryData, ...]


# What `OrderPort.sagas` can list.
SAGA_LISTS = ("failed", "stuck", "compensating")


# A checkout is idempotent per key (the same key is the same order): every call may be retried.
@runtime_checkable
class OrderPort(Protocol):
    @rpc("Checkout")
    def checkout(
        self, *, user_id: int, idempotency_key: str, payment_method: str
    ) -> CheckoutResult:
        """Create a PENDING order and start its saga; the same key returns the same order.

        Raises CartEmpty, IdempotencyConflict.
        """

    @rpc("GetOrder")
    def get(self, *, order_id: int, user_id: int | None = None) -> OrderData:
        """One order; with `user_id`, only if it is theirs. Raises OrderNotFound."""

    @rpc("ListOrders")
    def list(self, *, user_id: int) -> list[OrderData]:
        """The user's orders, newest first."""

    @rpc("ListSagas")
    def sagas(self, *, state: str, offset: int = 0, limit: int = 20) -> SagaPage:
        """A page of the sagas in one of SAGA_LISTS, the latest moved first: `failed`,
        `stuck` (unfinished, not moved for the stuck threshold) or `compensating`.

        Raises InvalidRequest for another `state`.
        """
