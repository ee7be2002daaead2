"""SQL statements of one checkout, by database and by stage, counted in one process.

Runs the very code the benchmark's processes run: the two API requests through Django's test
client (middleware, token authentication), then every Celery command the checkout sends, each
handed to its task's body in the order it was sent, instead of through RabbitMQ. Stripe is the
local server. Statements are what Django executes (`CaptureQueriesContext` on every alias);
the BEGIN and COMMIT of a transaction are not among them.

Run by `benchmarks.saga` in its environment (a migrated scratch database, stripe_local):

    python -m benchmarks.saga_statements <user token> <product id> [--sql]
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from contextlib import ExitStack
from unittest import mock

import django

django.setup()

from django.db import connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from ecommerce.celery import app  # noqa: E402
from phases.services import SERVICES  # noqa: E402

ALIASES = ("default", *SERVICES)
SENDERS = ("apps.order.services", "apps.order.checkout_saga", "apps.order.tasks", "apps.cart.tasks")


SHOW_SQL = "--sql" in sys.argv


def counted(stage: str, table: dict[str, Counter] | None, call) -> None:
    """Run `call`, adding its statements per alias to `table` (None: run it, count nothing)."""
    with ExitStack() as stack:
        captured = {
            alias: stack.enter_context(CaptureQueriesContext(connections[alias]))
            for alias in ALIASES
        }
        call()
    if table is None:
        return
    row = table.setdefault(stage, Counter())
    for alias, queries in captured.items():
        row[alias] += len(queries)
        if SHOW_SQL:
            for query in queries:
                print(f"{stage} [{alias}] {query['sql']}")


def main() -> None:
    token, product_id = sys.argv[1], int(sys.argv[2])
    sent: list[tuple[str, dict]] = []

    def send(command, *, countdown=None):
        sent.append((command.name, command.to_payload()))

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    table: dict[str, Counter] = {}
    with ExitStack() as stack:
        for module in SENDERS:
            stack.enter_context(mock.patch(f"{module}.send", send))

        def one_checkout(key: str, table: dict[str, Counter] | None) -> None:
            def add() -> None:
                response = client.post(
                    "/api/cart/items", {"product_id": product_id, "quantity": 1}, format="json"
                )
                assert response.status_code == 201, response.content

            def checkout() -> None:
                response = client.post(
                    "/api/checkout",
                    {"payment_method": "pm_card_visa"},
                    format="json",
                    HTTP_IDEMPOTENCY_KEY=key,
                )
                assert response.status_code == 201, response.content

            counted("POST /api/cart/items", table, add)
            counted("POST /api/checkout", table, checkout)
            while sent:
                name, kwargs = sent.pop(0)
                counted(f"task {name}", table, lambda n=name, k=kwargs: app.tasks[n].run(**k))

        # The first checkout makes the shopper's cart; the second is the steady state counted.
        one_checkout(f"statements-{time.time_ns()}-1", None)
        one_checkout(f"statements-{time.time_ns()}-2", table)

    total = Counter()
    print(f"{'stage':<30} " + " ".join(f"{a:>8}" for a in ALIASES) + f" {'all':>6}")
    for stage, row in table.items():
        total.update(row)
        print(
            f"{stage:<30} " + " ".join(f"{row[a]:>8}" for a in ALIASES) + f" {sum(row.values()):>6}"
        )
    print(
        f"{'one checkout':<30} "
        + " ".join(f"{total[a]:>8}" for a in ALIASES)
        + f" {sum(total.values()):>6}"
    )


if __name__ == "__main__":
    main()
