"""The catalogue's first tier: hits from this process's memory, kept fresh by Redis pub/sub.

Another process's write reaches this one only through Redis: these tests play that process by
sending exactly what its `_bump` sends (the Lua bump-and-publish), or by running a real second
Django process, so nothing here relies on the writer's own-process shortcut.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.core.cache import cache as django_cache
from django.test import override_settings
from django_redis import get_redis_connection

from apps.product import cache, services
from apps.product.local_cache import BUMP_AND_PUBLISH, LocalTier
from tests.factories import ProductFactory
from tests.fixtures.worker import ROOT, process_env

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _tier() -> LocalTier:
    tier = cache.local_tier()
    assert tier is not None, "the local tier is on wherever the cache is Redis"
    deadline = time.monotonic() + 5
    while not tier.live:
        assert time.monotonic() < deadline, "the invalidation subscription never came up"
        time.sleep(0.01)
    return tier


def _detail(api, product) -> dict:
    response = api.get(f"/api/products/{product.pk}")
    assert response.status_code == 200
    return response.json()


def _drop_shared_entries() -> None:
    """Empty the Redis tier behind the local one's back (no invalidation is published)."""
    django_cache.delete_pattern("product*:entry")


def _bump_from_another_process(*version_keys: str) -> None:
    get_redis_connection("default").eval(
        BUMP_AND_PUBLISH,
        len(version_keys),
        *(django_cache.make_key(key) for key in version_keys),
        time.time_ns(),
        django_cache.make_key("catalogue:invalidations"),
        LocalTier.message(version_keys),
    )


def _until(condition, timeout: float = 5.0) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "the condition never held"
        time.sleep(0.001)
    return time.monotonic() - started


def test_a_hit_comes_from_process_memory_with_no_redis_or_database(api, product_queries):
    # given
    _tier()
    product = ProductFactory(price=1000)
    _detail(api, product)
    _drop_shared_entries()
    # when
    with product_queries() as queries:
        detail = _detail(api, product)
    # then
    assert detail["price"] == 1000
    assert len(queries) == 0


def test_an_invalidation_from_another_process_drops_the_entry(api):
    # given
    tier = _tier()
    product = ProductFactory(price=1000)
    _detail(api, product)
    key = f"product:{product.pk}"
    token = tier.token(("categories:v", f"{key}:v"))
    assert tier.get(key, token) == _detail(api, product)
    # when
    _bump_from_another_process(f"{key}:v")
    # then
    _until(lambda: tier.token(("categories:v", f"{key}:v")) != token)
    assert tier.get(key, tier.token(("categories:v", f"{key}:v"))) is cache.MISSING


def test_a_real_second_process_writing_is_seen_here(api):
    # given
    _tier()
    product = ProductFactory(price=1000)
    _detail(api, product)
    # when: another Django process changes the price through the product service
    script = (
        "import django; django.setup()\n"
        "from apps.product import services\n"
        "from apps.product.models import Product\n"
        f"services.product_update(product=Product.objects.get(pk={product.pk}), price=2500)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=process_env(), check=True, timeout=60
    )
    # then
    waited = _until(lambda: _detail(api, product)["price"] == 2500, timeout=2)
    assert waited < 1.0


def test_a_forked_child_writing_is_another_process(api):
    """A prefork worker inherits its parent's tier object: its messages must not pass for the
    parent's own (which the parent skips, having applied them itself)."""
    # given
    tier = _tier()
    product = ProductFactory(price=1000)
    _detail(api, product)
    version_keys = ("categories:v", f"product:{product.pk}:v")
    token = tier.token(version_keys)
    # when: the child bumps the product's version the way any writer does, then exits
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            cache._bump(f"product:{product.pk}:v")
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    # then
    _until(lambda: tier.token(version_keys) != token)


def test_a_slow_reader_cannot_store_across_an_invalidation(api):
    """The reader takes its token, reads the old row; another process's update is announced
    before the reader stores. What it stores must never be served."""
    # given
    tier = _tier()
    product = ProductFactory(price=1000)
    version_keys = ("categories:v", f"product:{product.pk}:v")

    def slow_read() -> dict:
        stale = {"id": product.pk, "price": 1000}
        token = tier.token(version_keys)
        type(product).objects.filter(pk=product.pk).update(price=2000)
        _bump_from_another_process(f"product:{product.pk}:v")
        _until(lambda: tier.token(version_keys) != token)  # the message has arrived
        return stale

    # when
    stored = cache.product_detail(product.pk, slow_read)
    # then
    assert stored["price"] == 1000
    assert _detail(api, product)["price"] == 2000


def test_an_invalidation_arriving_after_the_store_still_drops_it(api):
    # given
    tier = _tier()
    product = ProductFactory(price=1000)
    version_keys = ("categories:v", f"product:{product.pk}:v")
    token = tier.token(version_keys)
    tier.put(f"product:{product.pk}", token, version_keys, {"id": product.pk, "price": 1000})
    assert _detail(api, product)["price"] == 1000  # served from memory
    # when: the database changes and the change is announced only now
    type(product).objects.filter(pk=product.pk).update(price=3000)
    _drop_shared_entries()
    _bump_from_another_process(f"product:{product.pk}:v")
    # then
    _until(lambda: tier.token(version_keys) != token)
    assert _detail(api, product)["price"] == 3000


def test_a_lost_subscription_turns_the_tier_off_and_forgets_everything(api, product_queries):
    # given
    tier = _tier()
    product = ProductFactory(price=1000)
    _detail(api, product)
    redis = get_redis_connection("default")
    name = tier.client_name
    (listener,) = [c for c in redis.client_list() if c.get("name") == name]
    before = tier.token(())
    # when: the connection dies, and a change is announced while nobody listens
    redis.client_kill_filter(_id=listener["id"])
    _until(lambda: tier.token(()) != before)  # off (None), or already on again, a new epoch
    type(product).objects.filter(pk=product.pk).update(price=4000)
    _drop_shared_entries()
    _bump_from_another_process(f"product:{product.pk}:v")
    # then: whatever happens meanwhile, the old entry is never served again
    assert _detail(api, product)["price"] == 4000
    _until(lambda: tier.live)
    assert _detail(api, product)["price"] == 4000
    # and once subscribed again, the tier serves from memory again
    _drop_shared_entries()
    with product_queries() as queries:
        assert _detail(api, product)["price"] == 4000
    assert len(queries) == 0


def test_a_new_cache_setting_gets_a_new_subscription(settings):
    # given
    before = _tier()
    unreachable = dict(settings.CACHES["default"], LOCATION="redis://127.0.0.1:1/0")
    # when
    with override_settings(CACHES={"default": unreachable}):
        during = cache.local_tier()
        time.sleep(0.2)
        during_live = during.live
    # then: the tier for the unreachable Redis is off, and the real one is back afterwards
    assert during is not before and during_live is False
    assert not before.live
    after = _tier()
    assert after is not during and after.live


def test_metrics_show_hits_per_tier_and_the_subscription(api):
    # given
    _tier()
    product = ProductFactory()
    _detail(api, product)  # a miss everywhere, stored in both tiers
    # when
    _detail(api, product)
    # then
    text = api.get("/metrics").content.decode()
    assert 'catalogue_cache_lookups_total{result="hit",tier="local"}' in text
    assert 'catalogue_cache_lookups_total{result="miss",tier="redis"}' in text
    assert "catalogue_local_cache_live 1.0" in text


def test_the_writers_own_process_reads_its_write_at_once(api):
    # given
    _tier()
    product = ProductFactory(price=1000)
    _detail(api, product)
    # when
    services.product_update(product=product, price=1100)
    # then: no wait for the echo
    assert _detail(api, product)["price"] == 1100


def test_the_tier_holds_at_most_its_limit_dropping_the_oldest(settings):
    # given
    tier = LocalTier(
        settings.CACHES["default"]["LOCATION"], "catalogue-limit-test", timeout=60, max_entries=3
    )
    try:
        _until(lambda: tier.live)
        token = tier.token(())
        # when
        for n in range(5):
            tier.put(f"k{n}", token, (), n)
        # then
        assert [tier.get(f"k{n}", token) for n in range(5)] == [*(cache.MISSING,) * 2, 2, 3, 4]
    finally:
        tier.stop()
