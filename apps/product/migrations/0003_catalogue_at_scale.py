"""The catalogue at scale: an index per list ordering, and search that a shop would ship.

On PostgreSQL, products get a generated `search_vector` column (the name weighted A, the
description B, English stemming) with a GIN index: search is full-text, ranked, with prefix
matching (apps/product/selectors.py). SQLite, the embedded mode, has no tsvector: there the
column is not made and search stays a substring match. docs/database.md has the measurements.
"""

import django.db.models.functions.text
from django.db import migrations, models

SEARCH_VECTOR = """
ALTER TABLE product_product ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')
) STORED;
CREATE INDEX product_search_vector_idx ON product_product USING gin (search_vector);
"""
DROP_SEARCH_VECTOR = """
DROP INDEX IF EXISTS product_search_vector_idx;
ALTER TABLE product_product DROP COLUMN IF EXISTS search_vector;
"""


def add_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEARCH_VECTOR)


def drop_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SEARCH_VECTOR)


class Migration(migrations.Migration):

    dependencies = [
        ('product', '0002_outbox'),
    ]

    operations = [
        migrations.AlterField(
            model_name='product',
            name='name',
            field=models.CharField(max_length=200),
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(fields=['name', 'id'], name='product_name_id_idx'),
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(fields=['category', 'name', 'id'], name='product_category_name_idx'),
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(fields=['category', 'price', 'id'], name='product_category_price_idx'),
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(fields=['category', 'id'], name='product_category_id_idx'),
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(django.db.models.functions.text.Upper('sku'), name='product_sku_upper_idx'),
        ),
        migrations.RunPython(add_search_vector, drop_search_vector),
    ]
