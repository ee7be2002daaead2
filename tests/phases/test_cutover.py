"""The gradual cut-over: phase 0 sends a share of the catalogue's calls to a real `serve product`
process (on the same database), sticky per user, the share changed live in the admin."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from prometheus_client import REGISTRY

from ecommerce.models import CutoverShare
from ecommerce.wiring import resolver
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def calls(adapter: str, service: str = "product") -> float:
    labels = {"service": service, "adapter": adapter}
    return REGISTRY.get_sample_value("cutover_calls_total", labels) or 0.0


@pytest.fixture
def product_service(settings, start_service):
    """Phase 0 with the catalogue under cut-over at `percent`; `serve product` beside it."""

    def start(percent: int):
        service = start_service("product", phase="0")
        settings.CUTOVER = {"product": percent}
        settings.CUTOVER_REFRESH_SECONDS = 0.2
        resolver.reset()
        return service

    return start


def adapter_of_call(user_id: int, product_id: int) -> str:
    """Which adapter answered one catalogue call made for `user_id`, from the series."""
    before = calls("remote")
    with resolver.routed_as(user_id=user_id):
        assert resolver.product().get(product_id).id == product_id
    return "remote" if calls("remote") > before else "local"


@pytest.mark.parametrize(("percent", "expected"), [(0, "local"), (100, "remote")])
def test_at_0_percent_every_call_stays_in_process_at_100_every_call_goes_to_the_service(
    product_service, percent, expected
):
    # given
    product = ProductFactory()
    service = product_service(percent)
    served = service.calls_served()
    before = {adapter: calls(adapter) for adapter in ("local", "remote")}
    # when: calls for 20 users and 5 with no user at all
    for user_id in range(1, 21):
        adapter_of_call(user_id, product.pk)
    for _ in range(5):
        resolver.product().get(product.pk)
    # then
    counted = {adapter: calls(adapter) - before[adapter] for adapter in before}
    assert counted == {"local": 0, "remote": 0, expected: 25}
    assert service.calls_served() - served == (25 if expected == "remote" else 0)


def test_at_50_percent_each_user_sticks_to_one_adapter_and_raising_the_share_only_moves_users_out(
    product_service, settings
):
    # given
    product = ProductFactory()
    service = product_service(50)
    served = service.calls_served()
    users = range(1, 101)
    # when: each user's calls, twice
    first = {u: adapter_of_call(u, product.pk) for u in users}
    second = {u: adapter_of_call(u, product.pk) for u in users}
    # then: the same adapter every time, about half of them remote, as the service counted
    assert first == second
    remote = {u for u, adapter in first.items() if adapter == "remote"}
    assert 30 <= len(remote) <= 70
    assert service.calls_served() - served == 2 * len(remote)
    # when: the share goes to 75 %
    settings.CUTOVER = {"product": 75}
    resolver.reset()
    later = {u for u in users if adapter_of_call(u, product.pk) == "remote"}
    # then: who was remote stays remote; only some of the others join them
    assert remote < later


def test_the_share_changed_in_the_admin_and_the_database_takes_effect_without_a_restart(
    product_service, client
):
    # given: the catalogue at 0 %, a running process that has routed calls already
    product = ProductFactory()
    product_service(0)
    assert {adapter_of_call(u, product.pk) for u in range(1, 11)} == {"local"}
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    # when: an operator sets 100 % in the admin
    added = client.post(
        "/admin/ecommerce/cutovershare/add/", {"service": "product", "percent": "100"}
    )
    # then: the next calls of this same process go to the service
    assert added.status_code == 302
    assert {adapter_of_call(u, product.pk) for u in range(1, 11)} == {"remote"}
    listed = client.get("/admin/ecommerce/cutovershare/")
    assert listed.status_code == 200 and b"product" in listed.content
    # when: the row goes back to 0 % behind this process's back (another process's admin)
    CutoverShare.objects.filter(service="product").update(percent=0)
    time.sleep(0.3)
    # then: within the refresh interval, every call is in-process again
    assert {adapter_of_call(u, product.pk) for u in range(1, 11)} == {"local"}


def test_a_share_above_100_is_refused_in_the_admin(product_service, client):
    # given
    product_service(0)
    staff = get_user_model().objects.create_superuser("ops", password="x")
    client.force_login(staff)
    # when
    refused = client.post(
        "/admin/ecommerce/cutovershare/add/", {"service": "product", "percent": "150"}
    )
    # then
    assert refused.status_code == 200
    assert not CutoverShare.objects.exists()
