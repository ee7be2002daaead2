from django.urls import path

from apps.cart.api import views

urlpatterns = [
    path("cart", views.CartApi.as_view(), name="cart"),
    path("cart/items", views.CartItemsApi.as_view(), name="cart-items"),
    path("cart/items/<int:product_id>", views.CartItemApi.as_view(), name="cart-item"),
]
