from django.urls import path

from apps.accounts.api import views

urlpatterns = [
    path("auth/register", views.RegisterApi.as_view(), name="register"),
    path("auth/token", views.TokenApi.as_view(), name="token"),
]
