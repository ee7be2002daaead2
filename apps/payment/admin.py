"""Payments, refunds and Stripe's events in Django admin: read-only, with refunds issued
through the refund service after a confirmation page."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from apps.payment import selectors, services
from apps.payment.models import Payment, Refund, StripeEvent
from ecommerce.contracts.errors import DomainError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the payment service only: visible here, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ["amount", "status", "provider_id", "idempotency_key", "failure_message", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RefundForm(forms.Form):
    # One token per confirmation page: submitting the same page twice refunds once.
    token = forms.CharField(widget=forms.HiddenInput)
    amount = forms.IntegerField(
        required=False,
        min_value=1,
        help_text="In minor units. Leave empty to refund everything that remains.",
    )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "order_id",
        "amount",
        "currency",
        "status",
        "refunded_amount",
        "decline_code",
        "provider_id",
        "created_at",
    ]
    list_filter = ["status", "currency", "created_at"]
    search_fields = ["=order_id", "provider_id", "provider_charge_id", "idempotency_key"]
    readonly_fields = [f.name for f in Payment._meta.fields]
    inlines = [RefundInline]
    actions = ["refund"]
    list_per_page = 50

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("payment.add_refund")

    @admin.action(description="Refund selected payments…", permissions=["refund"])
    def refund(self, request, queryset):
        payments = [(p, selectors.refundable_amount(payment=p)) for p in queryset.order_by("pk")]
        refundable = [p for p, left in payments if left > 0]
        form = RefundForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            amount = form.cleaned_data["amount"]
            if amount is not None and len(refundable) != 1:
                form.add_error("amount", "A partial amount refunds exactly one payment.")
            else:
                self._refund(request, refundable, amount, form.cleaned_data["token"])
                return None  # back to the list, with a message per payment
        if not form.is_bound:
            form = RefundForm(initial={"token": uuid.uuid4().hex})
        return TemplateResponse(
            request,
            "admin/payment/payment/refund_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "title": "Refund payments",
                "opts": self.model._meta,
                "payments": payments,
                "refundable": refundable,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def _refund(self, request, payments: list[Payment], amount: int | None, token: str) -> None:
        if not payments:
            self.message_user(request, "Nothing left to refund.", messages.WARNING)
        for payment in payments:
            try:
                refund = services.payment_refund(
                    payment_id=payment.pk,
                    idempotency_key=f"admin:{token}:{payment.pk}",
                    amount=amount,
                )
            except DomainError as exc:
                self.message_user(
                    request, f"Payment {payment.pk}: not refunded: {exc.message}", messages.ERROR
                )
            else:
                self.message_user(
                    request,
                    f"Payment {payment.pk}: refunded {refund.amount} {payment.currency} "
                    f"({refund.provider_id}).",
                    messages.SUCCESS,
                )


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "payment", "amount", "status", "provider_id", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["=payment__order_id", "provider_id", "payment__provider_id", "idempotency_key"]
    readonly_fields = [f.name for f in Refund._meta.fields]
    list_select_related = ["payment"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "event_type", "outcome", "payment", "stripe_created", "received_at"]
    list_filter = ["event_type", "outcome"]
    search_fields = ["event_id", "provider_id", "=payment__order_id"]
    readonly_fields = [f.name for f in StripeEvent._meta.fields]
