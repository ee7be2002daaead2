"""More products for the benchmark's catalogue, beside seed_demo's few dozen."""

from __future__ import annotations

import sys

import django


def main(count: int) -> None:
    django.setup()
    from apps.product.models import Category, Product

    categories = list(Category.objects.order_by("pk"))
    Product.objects.bulk_create(
        [
            Product(
                sku=f"BENCH-{number:06d}",
                name=f"Bench product {number}",
                description=f"Product number {number} of the benchmark catalogue.",
                price=100 + (number * 37) % 9900,
                currency="USD",
                category=categories[number % len(categories)],
                stock=10 + number % 90,
            )
            for number in range(count)
        ],
        batch_size=1000,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
