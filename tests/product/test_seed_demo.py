"""The demo catalogue is made through the catalogue's services: every product it creates
announces itself on the outbox, and a second run creates (and announces) nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from apps.product.models import OutboxEvent, Product

pytestmark = pytest.mark.django_db(databases="__all__")


def test_seeding_emits_one_product_created_per_product_and_a_rerun_none():
    # when
    call_command("seed_demo", stdout=io.StringIO())
    # then
    products = set(Product.objects.values_list("pk", flat=True))
    created = OutboxEvent.objects.filter(event_type="product.created")
    assert len(products) == 32
    assert {int(e.aggregate_id) for e in created} == products
    # when: seeded again
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    # then
    assert "(0 new)" in out.getvalue()
    assert OutboxEvent.objects.filter(event_type="product.created").count() == len(products)
