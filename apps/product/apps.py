from django.apps import AppConfig


class ProductConfig(AppConfig):
    name = "apps.product"
    label = "product"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from apps.product import signals  # noqa: F401
