from django.urls import path

from apps.payment.api import views

urlpatterns = [
    path("payments/stripe/webhook", views.StripeWebhookApi.as_view(), name="stripe-webhook"),
]
