"""SQL statements of one checkout, by database and by stage, counted in one process.

Runs the very code the benchmark's processes run: the two API requests through Django's test
client (middleware, token authentication), then every Celery command the checkout sends, each
handed to its task's body in the order it was sent, instead of through RabbitMQ
(tests/fixtures/statements.py, which tests/order/test_checkout_statements.py counts with too).
Stripe is the local server. Statements are what Django executes on every alias, BEGIN and
COMMIT among them.

Run by `benchmarks.saga` in its environment (a migrated scratch database, stripe_local):

    python -m benchmarks.saga_statements <user token> <product id> [--sql]
"""

from __future__ import annotations

import sys
import time
from collections import Counter

import django

django.setup()

from rest_framework.test import APIClient  # noqa: E402

from tests.fixtures.statements import ALIASES, checkout_counted  # noqa: E402

SHOW_SQL = "--sql" in sys.argv


def main() -> None:
    token, product_id = sys.argv[1], int(sys.argv[2])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    table: dict[str, Counter] = {}

    # The first checkout makes the shopper's cart; the second is the steady state counted.
    checkout_counted(client, product_id, f"statements-{time.time_ns()}-1", None)
    checkout_counted(client, product_id, f"statements-{time.time_ns()}-2", table, show_sql=SHOW_SQL)

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
