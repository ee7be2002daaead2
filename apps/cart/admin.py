from django.contrib import admin

from apps.cart.models import Cart, CartItem, CartReservation


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["user_id", "currency", "reservation_key", "updated_at"]
    search_fields = ["user_id", "reservation_key"]
    inlines = [CartItemInline]


@admin.register(CartReservation)
class CartReservationAdmin(admin.ModelAdmin):
    list_display = ["reservation_key", "user_id", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["reservation_key", "user_id"]
    readonly_fields = ["reservation_key", "user_id", "status", "items", "currency", "created_at"]
