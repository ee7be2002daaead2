from django.urls import path

from apps.order.api import views

urlpatterns = [
    path("checkout", views.CheckoutApi.as_view(), name="checkout"),
    path("orders", views.OrderListApi.as_view(), name="order-list"),
    path("orders/sagas", views.SagaListApi.as_view(), name="saga-list"),
    path("orders/<int:order_id>", views.OrderDetailApi.as_view(), name="order-detail"),
]
