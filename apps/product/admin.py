"""The catalogue in Django admin: what a catalogue manager works in all day."""

from django import forms
from django.contrib import admin, messages

from apps.product import services
from apps.product.models import Category, Product, StockHold, StockHoldLine
from apps.product.money import UnknownCurrency, exponent, format_money, to_major, to_minor

MAX_PRICE_MINOR = 2**31 - 1  # the column's limit


class ProductForm(forms.ModelForm):
    """The price is typed as money ("18.50"), in the product's currency, and stored in minor
    units."""

    price = forms.DecimalField(
        min_value=0,
        max_digits=15,
        help_text="In the currency's usual unit, e.g. 18.50 for USD, 1850 for JPY.",
    )

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "description",
            "category",
            "is_active",
            "price",
            "currency",
            "stock",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and self.instance.price is not None:
            self.initial["price"] = to_major(self.instance.price, self.instance.currency)

    def clean(self):
        cleaned = super().clean()
        price, currency = cleaned.get("price"), cleaned.get("currency")
        if price is not None and currency:
            try:
                minor = to_minor(price, currency)
            except UnknownCurrency as exc:
                self.add_error("currency", str(exc))
            except ValueError:
                self.add_error(
                    "price",
                    f"{currency.upper()} prices have at most {exponent(currency)} decimal places.",
                )
            else:
                if minor > MAX_PRICE_MINOR:
                    self.add_error("price", "That price is too large.")
                else:
                    cleaned["price"] = minor
        return cleaned


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
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
