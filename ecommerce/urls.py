"""The edge's URLs: the public REST API, its schema and docs, admin, health, metrics and the
journey console."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from ecommerce.api import errors, health
from ecommerce.wiring.db_router import alias_for

# Database per service: from the phase that extracts an app, this process has no connection to
# its database, so its models leave this admin rather than fail in it.
for _model in list(admin.site._registry):
    if alias_for(_model._meta.app_label) not in settings.DATABASES:
        admin.site.unregister(_model)

api = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.product.api.urls")),
    path("", include("apps.cart.api.urls")),
    path("", include("apps.order.api.urls")),
    path("", include("apps.payment.api.urls")),
    path("", include("apps.analytics.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Its script from the same view (`?script`), its style from a file: nothing inline, so the
    # content security policy holds.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
]

urlpatterns = [
    path("api/", include(api)),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("django_prometheus.urls")),
    path("", include("ecommerce.console.urls")),
]

handler400 = errors.bad_request_view
handler403 = errors.forbidden_view
handler404 = errors.not_found_view
handler500 = errors.server_error_view
