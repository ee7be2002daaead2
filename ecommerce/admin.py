"""The platform's own settings in the admin: each service's cut-over share."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin

from ecommerce.models import CutoverShare
from ecommerce.wiring import cutover


@admin.register(CutoverShare)
class CutoverShareAdmin(admin.ModelAdmin):
    list_display = ("service", "percent", "under_cutover", "updated_at")
    list_editable = ("percent",)
    readonly_fields = ("updated_at",)

    @admin.display(boolean=True, description="named by CUTOVER")
    def under_cutover(self, share: CutoverShare) -> bool:
        return share.service in settings.CUTOVER

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        cutover.shares.forget()  # this process routes by it at once; the others within seconds
