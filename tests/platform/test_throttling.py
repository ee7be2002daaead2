"""Rate limits on sign-up, sign-in and checkout: 429 in the error shape with Retry-After, per
scope from the settings read at request time, counted in the cache every process shares."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(databases="__all__")

PASSWORD = "correct-horse-battery"  # UserFactory's


def _sign_up(api, n: int, **extra):
    body = {"username": f"user{n}", "password": "analytical-engine-1843", "email": "a@example.com"}
    return api.post("/api/auth/register", body, format="json", **extra)


def _sign_in(api, username: str, password: str, **extra):
    body = {"username": username, "password": password}
    return api.post("/api/auth/token", body, format="json", **extra)


def _assert_throttled(response, *, window: int) -> int:
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert (error["code"], set(error)) == ("throttled", {"code", "message", "details"})
    wait = int(response["Retry-After"])
    assert 1 <= wait <= window
    return wait


@override_settings(THROTTLE_RATES={"sign_up": "3/d"})
def test_sign_up_is_limited_per_client_address(api):
    # when: a fourth sign-up from one address within the window
    answers = [_sign_up(api, n).status_code for n in range(3)]
    fourth = _sign_up(api, 3)
    # then
    assert answers == [201, 201, 201]
    _assert_throttled(fourth, window=86400)
    # and another address is not held back by the first one's count
    assert _sign_up(api, 4, REMOTE_ADDR="10.1.2.3").status_code == 201


@override_settings(THROTTLE_RATES={"sign_up": "3/d"})
def test_x_forwarded_for_names_no_one_without_a_proxy_of_ours(api):
    # given: a client that names another address in every request
    for n in range(3):
        _sign_up(api, n, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    # then: it is still counted by the address it called from
    _assert_throttled(_sign_up(api, 3, HTTP_X_FORWARDED_FOR="10.0.0.9"), window=86400)


@override_settings(THROTTLE_RATES={"sign_up": "1/d"}, THROTTLE_NUM_PROXIES=1)
def test_behind_a_proxy_the_client_is_the_address_it_forwarded(api):
    assert _sign_up(api, 0, HTTP_X_FORWARDED_FOR="10.0.0.1").status_code == 201
    assert _sign_up(api, 1, HTTP_X_FORWARDED_FOR="10.0.0.2").status_code == 201
    _assert_throttled(_sign_up(api, 2, HTTP_X_FORWARDED_FOR="10.0.0.1"), window=86400)


def test_the_rates_are_read_on_every_request(api):
    # given: no limit, as the test settings have it
    assert all(_sign_up(api, n).status_code == 201 for n in range(3))
    # when: an operator sets one, in the same process
    with override_settings(THROTTLE_RATES={"sign_up": "1/d"}):
        first, second = _sign_up(api, 10), _sign_up(api, 11)
    # then: it holds at once, and lifting it lifts it at once
    assert first.status_code == 201
    _assert_throttled(second, window=86400)
    assert _sign_up(api, 12).status_code == 201


@override_settings(THROTTLE_RATES={"sign_in": "2/2s"})
def test_retry_after_says_when_the_client_is_let_through_again(api):
    # given: a client past its limit (at most a window boundary later)
    for _ in range(6):
        response = _sign_in(api, "nobody", "wrong-password")
        if response.status_code == 429:
            break
    wait = _assert_throttled(response, window=2)
    # when: it waits as long as it was told
    time.sleep(wait)
    # then
    assert _sign_in(api, "nobody", "wrong-password").status_code == 401


@override_settings(THROTTLE_RATES={"sign_in_failures": "3/d"})
def test_failed_sign_ins_for_one_account_are_bounded_from_any_address(api):
    # given
    UserFactory(username="ada")
    UserFactory(username="bob")
    # when: three wrong passwords for ada, each from another address
    wrong = [
        _sign_in(api, "ada", f"guess-{n}", REMOTE_ADDR=f"10.9.0.{n}").status_code for n in range(3)
    ]
    # then: the account takes no further attempt, not even the right password
    assert wrong == [401, 401, 401]
    _assert_throttled(_sign_in(api, "ada", PASSWORD, REMOTE_ADDR="10.9.1.1"), window=86400)
    # and another account, from the same addresses, signs in as often as it likes
    assert all(_sign_in(api, "bob", PASSWORD).status_code == 200 for _ in range(5))


@override_settings(THROTTLE_RATES={"checkout": "2/d"})
def test_checkout_is_limited_per_user(client_for):
    # given
    ada, bob = client_for(UserFactory()), client_for(UserFactory())

    def checkout(client, key):
        return client.post(
            "/api/checkout",
            {"payment_method": "pm_card_visa"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    # when: ada's third checkout (empty carts: refused, but each one counts)
    answers = [checkout(ada, f"k{n}").status_code for n in range(2)]
    third = checkout(ada, "k2")
    # then
    assert answers == [409, 409]
    _assert_throttled(third, window=86400)
    assert checkout(bob, "k0").status_code == 409


_OTHER_PROCESS = """
import django, json, sys
django.setup()
from rest_framework.test import APIClient
api = APIClient()
body = {"username": "nobody", "password": "wrong-password"}
print(json.dumps([api.post("/api/auth/token", body, format="json").status_code for _ in range(2)]))
"""


@override_settings(THROTTLE_RATES={"sign_in": "3/d"})
def test_the_count_is_shared_by_every_process(api):
    # given: two sign-ins here
    assert [_sign_in(api, "nobody", "wrong-password").status_code for _ in range(2)] == [401, 401]
    # when: another process, sharing the cache, makes two more
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "settings.test",
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "ECOMMERCE_USE_TEST_DATABASES": "1",
        "TEST_THROTTLE_RATES": "sign_in=3/d",
    }
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=settings.BASE_DIR,
    )
    assert done.returncode == 0, done.stderr
    # then: it got the one sign-in left, and this process sees its count
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [401, 429]
    _assert_throttled(_sign_in(APIClient(), "nobody", "wrong-password"), window=86400)
