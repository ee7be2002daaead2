"""The category indexes hold only products on sale: a category's bounded count reads the index alone."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('product', '0003_catalogue_at_scale'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='product',
            name='product_category_name_idx',
        ),
        migrations.RemoveIndex(
            model_name='product',
            name='product_category_price_idx',
        ),
        migrations.RemoveIndex(
            model_name='product',
            name='product_category_id_idx',
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(condition=models.Q(('is_active', True)), fields=['category', 'name', 'id'], name='product_category_name_idx'),
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(condition=models.Q(('is_active', True)), fields=['category', 'price', 'id'], name='product_category_price_idx'),
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(condition=models.Q(('is_active', True)), fields=['category', 'id'], name='product_category_id_idx'),
        ),
    ]
