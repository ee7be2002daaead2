"""Orders and their sagas in Django admin: where an operator sees, retries or undoes a checkout."""

from django.contrib import admin, messages

from apps.order import checkout_saga
from apps.order.models import CheckoutSaga, Order, OrderLine, SagaStep
from ecommerce.contracts.order.commands import SagaAdvance
from ecommerce.transports.messaging import send


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["product_id", "sku", "name", "quantity", "unit_price"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "user_id", "status", "failure_reason", "total", "currency", "created_at"]
    list_filter = ["status", "failure_reason"]
    search_fields = ["id", "user_id", "idempotency_key"]
    inlines = [OrderLineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SagaStepInline(ReadOnlyInline):
    model = SagaStep
    fields = [
        "name",
        "status",
        "attempts",
        "started_at",
        "finished_at",
        "duration",
        "error",
        "result",
    ]
    readonly_fields = fields

    @admin.display(description="duration")
    def duration(self, step: SagaStep) -> str:
        if step.started_at and step.finished_at:
            return f"{(step.finished_at - step.started_at).total_seconds() * 1000:.0f} ms"
        return "-"


@admin.register(CheckoutSaga)
class CheckoutSagaAdmin(admin.ModelAdmin):
    list_display = ["order_id", "state", "step", "failure_reason", "created_at", "updated_at"]
    list_filter = ["state", "step", "failure_reason"]
    search_fields = ["order__id"]
    readonly_fields = [
        "order",
        "state",
        "step",
        "failure_reason",
        "payment_id",
        "created_at",
        "updated_at",
        "finished_at",
    ]
    inlines = [SagaStepInline]
    actions = ["retry", "force_compensation"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry: drive the selected sagas on from their last step")
    def retry(self, request, queryset):
        ids = list(
            queryset.exclude(state__in=CheckoutSaga.TERMINAL).values_list("order_id", flat=True)
        )
        for order_id in ids:
            send(SagaAdvance(order_id=order_id))
        self.message_user(request, f"{len(ids)} saga(s) sent on.", messages.SUCCESS)

    @admin.action(description="Force compensation: undo the selected running sagas")
    def force_compensation(self, request, queryset):
        done = 0
        for order_id in queryset.filter(state=CheckoutSaga.State.RUNNING).values_list(
            "order_id", flat=True
        ):
            if checkout_saga.saga_force_compensation(
                order_id=order_id, reason="cancelled_by_operator"
            ):
                send(SagaAdvance(order_id=order_id))
                done += 1
        self.message_user(request, f"{done} saga(s) are being compensated.", messages.SUCCESS)
