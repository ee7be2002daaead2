"""Embedded mode as `make run` starts it (settings/embedded.py: a SQLite file per alias, WAL,
every transaction BEGIN IMMEDIATE), served by gunicorn with several worker processes: shoppers
adding to their carts at once never see SQLite's `database is locked`, and no add is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fixtures.services import free_port

ROOT = Path(__file__).resolve().parents[2]
SHOPPERS = 4
ADDS_EACH = 25
PRODUCTS = 5

pytestmark = pytest.mark.slow


def _embedded_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="settings.embedded",
        ECOMMERCE_MODE="embedded",
        ECOMMERCE_VAR_DIR=str(var_dir),
        ECOMMERCE_TEST_VAR_DIR="",
        PHASE="0",
        EXTRACTED="",
        LOG_LEVEL="WARNING",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _call(base: str, method: str, path: str, body=None, token: str = "") -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Token {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"raw": raw[:300].decode(errors="replace")}


@pytest.fixture
def embedded_server(tmp_path):
    """A fresh `make run` database, seeded, behind gunicorn with four worker processes."""
    env = _embedded_env(tmp_path / "var")
    _manage(env, "migrate_all", "-v0")
    _manage(env, "seed_demo")
    _manage(env, "shell", "-c", "from apps.product.models import Product; "
            "Product.objects.update(stock=1000, is_active=True)")  # fmt: skip
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "ecommerce.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "4", "--no-control-socket",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).close()
            break
        except OSError:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=30)
    log.close()


def test_concurrent_cart_adds_never_fail_nor_get_lost(embedded_server):
    # given: shoppers signing up at once, and some products
    base = embedded_server

    def sign_up(number: int) -> str:
        status, body = _call(
            base, "POST", "/api/auth/register",
            {"username": f"shopper{number}", "password": "analytical-engine-1843",
             "email": f"shopper{number}@example.com"},
        )  # fmt: skip
        assert status == 201, body
        return body["token"]

    with ThreadPoolExecutor(SHOPPERS) as pool:
        tokens = list(pool.map(sign_up, range(SHOPPERS)))
    status, page = _call(base, "GET", f"/api/products?page_size={PRODUCTS}")
    product_ids = [p["id"] for p in page["results"]]
    assert status == 200 and len(product_ids) == PRODUCTS

    # when: every shopper adds, all at once
    def add(job: tuple[str, int]) -> tuple[int, dict]:
        token, number = job
        return _call(
            base, "POST", "/api/cart/items",
            {"product_id": product_ids[number % PRODUCTS], "quantity": 1}, token,
        )  # fmt: skip

    jobs = [(token, n) for n in range(ADDS_EACH) for token in tokens]
    with ThreadPoolExecutor(SHOPPERS * 2) as pool:
        answers = list(pool.map(add, jobs))

    # then: every add answered 2xx, and every cart holds exactly what was added
    failures = [(status, body) for status, body in answers if status >= 300]
    assert failures == [], failures[:5]
    for token in tokens:
        status, cart = _call(base, "GET", "/api/cart", token=token)
        assert status == 200
        assert {i["product_id"]: i["quantity"] for i in cart["items"]} == {
            pid: ADDS_EACH // PRODUCTS for pid in product_ids
        }
