"""Search in the embedded mode: SQLite, settings/embedded.py, in a process of its own.

The suite's own databases are PostgreSQL (settings/test.py), so this test starts a Python
process with the embedded settings over a scratch directory: it migrates the catalogue's SQLite
file (migration 0003 makes no tsvector there) and runs the selectors, which fall back to a
substring match of the name or description, or the exact SKU.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
import django

django.setup()
from django.core.management import call_command
from django.db import connections

call_command("migrate", database="product", verbosity=0)
from apps.product import selectors
from apps.product.models import Category, Product
from ecommerce.contracts.product.port import ProductQuery

tea = Category.objects.create(name="Tea", slug="tea")
kettle = Product.objects.create(sku="BRE-1003", name="Gooseneck Kettle", price=1, category=tea)
Product.objects.create(sku="BRE-1005", name="French Press", description="Four cups.", price=2)
for n in range(5):
    Product.objects.create(sku=f"T-{n}", name=f"Green tea {n}", price=3 + n, category=tea)


def ids(**query):
    return [p.pk for p in selectors.product_page(ProductQuery(**query))[1]]


first = selectors.product_page(ProductQuery(category="tea", ordering="price", limit=2))
second = selectors.product_page(
    ProductQuery(category="tea", ordering="price", limit=2, cursor=first[2])
)
with connections["product"].cursor() as cursor:
    cursor.execute("PRAGMA table_info(product_product)")
    columns = [row[1] for row in cursor.fetchall()]
print(json.dumps({
    "vendor": connections["product"].vendor,
    "full_text": selectors.full_text_search(),
    "columns": columns,
    "kettle": kettle.pk,
    "substring": ids(search="neck"),
    "sku": ids(search="bre-1003"),
    "description": ids(search="cups"),
    "relevance": ids(search="green", ordering="relevance"),
    "by_name": ids(search="green", ordering="name"),
    "pages": [[p.price for p in first[1]], [p.price for p in second[1]]],
}))
"""


def test_embedded_search_is_a_substring_match_on_sqlite(tmp_path):
    # given: the embedded mode's settings over a scratch directory
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "ECOMMERCE_", "PHASE", "EXTRACTED"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "settings.embedded",
        "ECOMMERCE_MODE": "embedded",
        "ECOMMERCE_VAR_DIR": str(tmp_path),
        "PHASE": "0",
        "LOG_LEVEL": "WARNING",
    }
    # when
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    # then
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["vendor"] == "sqlite" and found["full_text"] is False
    assert "search_vector" not in found["columns"]
    assert found["substring"] == [found["kettle"]]  # part of a word: only a substring finds it
    assert found["sku"] == [found["kettle"]]
    assert len(found["description"]) == 1
    assert found["relevance"] == found["by_name"] and len(found["by_name"]) == 5
    assert found["pages"] == [[1, 3], [4, 5]]
