from django.urls import path

from ecommerce.console import views

urlpatterns = [
    path("", views.topology_page, name="console"),
    path("console/topology.json", views.topology_json, name="console-topology"),
    path("console/health.json", views.health_json, name="console-health"),
    path("console/metrics.json", views.metrics_json, name="console-metrics"),
    path("console/costs/", views.costs_page, name="console-costs"),
    path("console/docs/<slug:name>/", views.doc_page, name="console-doc"),
    path("console/staff/", views.staff_page, name="console-staff"),
    path("console/shop/", views.shop_page, name="console-shop"),
    path("console/orders/", views.orders_page, name="console-orders"),
    path("console/orders/<int:order_id>/", views.order_page, name="console-order"),
]
