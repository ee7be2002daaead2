"""The order's port, implemented in-process over its services and selectors."""

from __future__ import annotations

from apps.order import selectors, services
from apps.order.models import Order
from ecommerce.ports.order import CheckoutResult, OrderData, OrderLineData, SagaStepData


def order_data(order: Order) -> OrderData:
    saga = selectors.saga_of(order)
    return OrderData(
        id=order.pk,
        user_id=order.user_id,
        status=order.status,
        failure_reason=order.failure_reason,
        lines=tuple(
            OrderLineData(
                product_id=line.product_id,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for line in order.lines.all()
        ),
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
            for step in (saga.steps.all() if saga else ())
        ),
    )


class LocalOrderAdapter:
    def checkout(
        self, *, user_id: int, idempotency_key: str, payment_method: str
    ) -> CheckoutResult:
        order, created = services.order_checkout(
            user_id=user_id, idempotency_key=idempotency_key, payment_method=payment_method
        )
        return CheckoutResult(order=self.get(order_id=order.pk), created=created)

    def get(self, *, order_id: int, user_id: int | None = None) -> OrderData:
        return order_data(selectors.order_get(order_id=order_id, user_id=user_id))

    def list(self, *, user_id: int) -> list[OrderData]:
        return [order_data(order) for order in selectors.order_list(user_id=user_id)]
