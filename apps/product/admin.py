"""The catalogue in Django admin: what a catalogue manager works in all day."""

from django.contrib import admin, messages

from apps.product import services
from apps.product.models import Category, Product, StockHold, StockHoldLine
from apps.product.money import format_money


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "category", "price_display", "stock", "is_active", "updated_at"]
    list_display_links = ["sku", "name"]
    list_editable = ["stock"]
    list_filter = ["is_active", "category"]
    search_fields = ["name", "sku"]
    list_select_related = ["category"]
    list_per_page = 50
    actions = ["activate", "deactivate"]
    readonly_fields = ["price_display", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["sku", "name", "description", "category", "is_active"]}),
        ("Price", {"fields": ["price", "currency", "price_display"]}),
        ("Stock", {"fields": ["stock"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        # Through the service, so an edit here emits its events like any other.
        services.product_save(product=obj)

    @admin.display(description="price", ordering="price")
    def price_display(self, product: Product) -> str:
        if product.price is None:
            return "-"
        return format_money(product.price, product.currency or "USD")

    @admin.action(description="Activate selected products")
    def activate(self, request, queryset):
        changed = services.products_set_active(
            product_ids=queryset.values_list("pk", flat=True), is_active=True
        )
        self.message_user(request, f"{changed} product(s) activated.", messages.SUCCESS)

    @admin.action(description="Deactivate selected products")
    def deactivate(self, request, queryset):
        changed = services.products_set_active(
            product_ids=queryset.values_list("pk", flat=True), is_active=False
        )
        self.message_user(request, f"{changed} product(s) deactivated.", messages.SUCCESS)


class StockHoldLineInline(admin.TabularInline):
    model = StockHoldLine
    extra = 0
    can_delete = False
    readonly_fields = ["product", "quantity"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(StockHold)
class StockHoldAdmin(admin.ModelAdmin):
    """Holds are written by checkouts only: visible here, never edited by hand."""

    list_display = ["hold_key", "status", "created_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["hold_key"]
    inlines = [StockHoldLineInline]
    readonly_fields = ["hold_key", "status", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
