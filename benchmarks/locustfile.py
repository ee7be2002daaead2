"""The whole shopper journey for Locust: sign up, browse, search, fill the cart, check out.

Each simulated shopper signs up (its own account and token), then mixes browsing the catalogue
(lists by category and ordering, a product's page), searching, adding to its cart, looking at
its orders and checking out with a Stripe test card: mostly `pm_card_visa`, which succeeds, and
`pm_card_chargeDeclined` (DECLINED_SHARE of checkouts), which the saga compensates. A request
fails in Locust's figures only when its status is not one the API documents for it: every 5xx,
and any 4xx the journey should never meet (401, 429, ...). `make load` (benchmarks/load.py)
runs it headless and checks what it left behind.

    locust -f benchmarks/locustfile.py --host http://127.0.0.1:8000
"""

from __future__ import annotations

import os
import random
import uuid

from locust import HttpUser, between, task

DECLINED_SHARE = float(os.environ.get("LOAD_DECLINED_SHARE", "0.2"))
SEARCHES = ("coffee", "tea", "kenya", "ethiopia", "grinder", "mug", "filter", "green", "dark")
ORDERINGS = ("name", "-name", "price", "-price", "id")


def expect(answer, expected=(200,)) -> bool:
    """Marks a `catch_response` request failed unless its status is one of `expected`."""
    if answer.status_code in expected:
        answer.success()
        return True
    answer.failure(f"HTTP {answer.status_code}")
    return False


class Shopper(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.products: list[int] = []
        self.categories: list[str] = []
        self.cart_lines = 0
        username = f"load-{uuid.uuid4().hex[:12]}"
        body = {
            "username": username,
            "password": "load-journey-1843",
            "email": f"{username}@example.com",
        }
        with self.client.post("/api/auth/register", json=body, catch_response=True) as answer:
            if not expect(answer, (201,)):
                return
            self.client.headers["Authorization"] = f"Token {answer.json()['token']}"
        with self._get("/api/categories", "/api/categories") as answer:
            if expect(answer):
                self.categories = [c["slug"] for c in answer.json()]
        with self._get("/api/products?page_size=100", "/api/products") as answer:
            if expect(answer):
                self.products = [p["id"] for p in answer.json()["results"] if p["available"]]

    def _get(self, path: str, name: str):
        return self.client.get(path, name=name, catch_response=True)

    @task(4)
    def browse(self) -> None:
        query = f"?ordering={random.choice(ORDERINGS)}&page_size=20"
        if self.categories and random.random() < 0.5:
            query += f"&category={random.choice(self.categories)}"
        with self._get(f"/api/products{query}", "/api/products?category&ordering") as answer:
            expect(answer)
        if self.products:
            product = random.choice(self.products)
            with self._get(f"/api/products/{product}", "/api/products/{id}") as answer:
                expect(answer)

    @task(2)
    def search(self) -> None:
        word = random.choice(SEARCHES)
        with self._get(f"/api/products?search={word}", "/api/products?search") as answer:
            expect(answer)

    @task(3)
    def add_to_cart(self) -> None:
        if not self.products:
            return
        line = {"product_id": random.choice(self.products), "quantity": random.randint(1, 2)}
        with self.client.post(
            "/api/cart/items", json=line, name="/api/cart/items", catch_response=True
        ) as answer:
            # 409: the cart is held by a checkout still in flight, or the stock ran out
            if expect(answer, (201, 409)) and answer.status_code == 201:
                self.cart_lines += 1

    @task(1)
    def look_at_orders(self) -> None:
        with self._get("/api/orders", "/api/orders") as answer:
            expect(answer)
        with self._get("/api/cart", "/api/cart") as answer:
            expect(answer)

    @task(2)
    def check_out(self) -> None:
        if not self.cart_lines:
            return
        card = "pm_card_chargeDeclined" if random.random() < DECLINED_SHARE else "pm_card_visa"
        with self.client.post(
            "/api/checkout",
            json={"payment_method": card},
            headers={"Idempotency-Key": uuid.uuid4().hex},
            name=f"/api/checkout ({card})",
            catch_response=True,
        ) as answer:
            # 409: the cart is empty or already held by a checkout in flight
            if expect(answer, (201, 409)) and answer.status_code == 201:
                self.cart_lines = 0
