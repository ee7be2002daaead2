"""The order's port in-process, over its services and selectors (served over gRPC by
ecommerce.transports.grpc.contracts)."""

from __future__ import annotations

from apps.order import selectors, services
from apps.order.models import CheckoutSaga, Order, OrderLine, SagaStep, line_values
from ecommerce.contracts.order.port import (
    CheckoutResult,
    OrderData,
    OrderLineData,
    SagaPage,
    SagaStepData,
    SagaSummaryData,
)


def order_data(
    order: Order,
    *,
    lines: list[OrderLine] | None = None,
    steps: tuple[SagaStep, ...] | None = None,
) -> OrderData:
    """The order as the port shows it; `lines` and `steps`, when given, are not read again."""
    saga = selectors.saga_of(order)
    if lines is None:
        lines = order.lines.all()
    if steps is None:
        steps = saga.steps.all() if saga else ()
    return OrderData(
        id=order.pk,
        user_id=order.user_id,
        status=order.status,
        failure_reason=order.failure_reason,
        trace_id=order.trace_id,
        lines=tuple(OrderLineData(**line_values(line)) for line in lines),
        total=order.total,
        currency=order.currency,
        created_at=order.created_at,
        saga_step=saga.step if saga else "",
        saga_history=tuple(
            SagaStepData(
                step=step.name,
                status=step.status,
                attempts=step.attempts,
                started_at=step.started_at,
                finished_at=step.finished_at,
                error=step.error,
            )
            for step in steps
        ),
    )


def saga_summary(saga: CheckoutSaga, *, stuck_before) -> SagaSummaryData:
    return SagaSummaryData(
        saga_id=saga.pk,
        order_id=saga.order_id,
        user_id=saga.order.user_id,
        state=saga.state,
        step=saga.step,
        failure_reason=saga.failure_reason,
        created_at=saga.created_at,
        updated_at=saga.updated_at,
        finished_at=saga.finished_at,
        stuck=saga.state not in CheckoutSaga.TERMINAL and saga.updated_at < stuck_before,
    )


class LocalOrderAdapter:
    def checkout(
        self, *, user_id: int, idempotency_key: str, payment_method: str
    ) -> CheckoutResult:
        order, lines, created = services.order_checkout(
            user_id=user_id, idempotency_key=idempotency_key, payment_method=payment_method
        )
        if not created:
            return CheckoutResult(order=self.get(order_id=order.pk), created=False)
        # A new order is answered as written: its lines, its saga not yet at its first step.
        return CheckoutResult(order=order_data(order, lines=lines, steps=()), created=True)

    def get(self, *, order_id: int, user_id: int | None = None) -> OrderData:
        return order_data(selectors.order_get(order_id=order_id, user_id=user_id))

    def list(self, *, user_id: int) -> list[OrderData]:
        return [order_data(order) for order in selectors.order_list(user_id=user_id)]

    def sagas(self, *, state: str, offset: int = 0, limit: int = 20) -> SagaPage:
        stuck_before = selectors.saga_stuck_before()
        count, sagas = selectors.saga_list(state=state, offset=offset, limit=limit)
        return SagaPage(
            count=count,
            sagas=tuple(saga_summary(saga, stuck_before=stuck_before) for saga in sagas),
        )
