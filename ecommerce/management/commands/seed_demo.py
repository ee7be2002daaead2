"""A demo catalogue and an admin user, so a fresh clone has something to browse."""

from __future__ import annotations

import os
import random

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.text import slugify

from apps.product import services as product_services
from apps.product.models import Category, Product

CATALOGUE = {
    "Coffee": [
        "Ethiopia Yirgacheffe",
        "Colombia Huila",
        "Kenya AA",
        "Guatemala Antigua",
        "Sumatra Mandheling",
        "Brazil Cerrado",
        "Decaf House Blend",
        "Espresso Roast",
    ],
    "Brewing": [
        "Pour-over Dripper",
        "Paper Filters (100)",
        "Gooseneck Kettle",
        "Burr Grinder",
        "French Press",
        "Cold Brew Jar",
        "Digital Scale",
        "Aeropress",
    ],
    "Tea": [
        "Sencha",
        "Darjeeling First Flush",
        "Earl Grey",
        "Oolong Tieguanyin",
        "Rooibos",
        "Chamomile",
        "Matcha Ceremonial",
        "Masala Chai",
    ],
    "Accessories": [
        "Travel Mug",
        "Ceramic Cup",
        "Milk Frother",
        "Tamper",
        "Knock Box",
        "Cleaning Tablets",
        "Canister",
        "Barista Apron",
    ],
}


class Command(BaseCommand):
    help = "Create the demo catalogue and an admin user (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-username", default=os.environ.get("DEMO_ADMIN_USERNAME", "admin")
        )
        parser.add_argument(
            "--admin-password", default=os.environ.get("DEMO_ADMIN_PASSWORD", "admin")
        )

    def handle(self, *args, **options):
        rng = random.Random(42)
        created = 0
        for index, (category_name, names) in enumerate(CATALOGUE.items(), start=1):
            # Through the catalogue's services, so every product announces itself (its
            # product.created event) as one made in the admin does.
            category = product_services.category_ensure(
                name=category_name, slug=slugify(category_name)
            )
            for number, name in enumerate(names, start=1):
                product = product_services.product_seed(
                    sku=f"{category.slug[:3].upper()}-{index}{number:03d}",
                    name=name,
                    description=f"{name}, from our {category_name.lower()} range.",
                    price=rng.randrange(300, 9000, 50),
                    currency="USD",
                    category=category,
                    stock=rng.randrange(5, 200),
                )
                created += product is not None
        User = get_user_model()
        admin, made = User.objects.get_or_create(
            username=options["admin_username"],
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
        )
        if made:
            admin.set_password(options["admin_password"])
            admin.save()
        self.stdout.write(
            f"catalogue: {Product.objects.count()} products ({created} new) "
            f"in {Category.objects.count()} categories; admin user: {admin.username}"
        )
