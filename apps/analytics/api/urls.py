from django.urls import path

from apps.analytics.api import views

urlpatterns = [
    path("analytics/summary", views.AnalyticsSummaryApi.as_view(), name="analytics-summary"),
]
