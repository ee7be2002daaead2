"""Any saved or deleted product or category, from admin or code, invalidates the cache."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.product import cache
from apps.product.models import Category, Product


@receiver([post_save, post_delete], sender=Product)
def product_changed(sender, instance: Product, **kwargs) -> None:
    cache.invalidate_products(instance.pk)


@receiver([post_save, post_delete], sender=Category)
def category_changed(sender, instance: Category, **kwargs) -> None:
    cache.invalidate_categories()
