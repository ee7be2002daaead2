"""What the parallel run costs the caller, and what it catches.

The catalogue's reads (`ProductPort.get` and `.list`) in-process, without and with the shadow
(`SHADOW=product`: the same read repeated on a real `serve product` process, off the caller's
path, on the shadow's pool of SHADOW_WORKERS threads), in interleaved blocks so other work on the
machine falls on both alike while the shadow's own background work falls on its side. The service reads a copy of the monolith's database, so one price can then
be changed in it alone: the second part counts what the shadow makes of that seeded difference.

    python -m benchmarks.shadow [--calls 1000] [--products 50] [--rounds 10]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from contextlib import ExitStack

import psycopg
from psycopg import sql

from benchmarks.grpc_call import summary
from benchmarks.product_service import scratch_setup, serve_product


def _copy_database(server: str, source: str, name: str) -> str:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(source)
            )
        )
    return f"{server}/{name}"


def _drop_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _counts(service: str = "product") -> dict[str, float]:
    from prometheus_client import REGISTRY

    totals = {}
    for name in ("calls", "mismatches", "errors", "dropped"):
        totals[name] = sum(
            REGISTRY.get_sample_value(f"shadow_{name}_total", {"service": service, "operation": op})
            or 0.0
            for op in ("get", "list")
        )
    return totals


def _remote_mean_ms() -> float:
    from prometheus_client import REGISTRY

    total = count = 0.0
    for op in ("get", "list"):
        labels = {"service": "product", "operation": op}
        total += REGISTRY.get_sample_value("shadow_remote_duration_seconds_sum", labels) or 0.0
        count += REGISTRY.get_sample_value("shadow_remote_duration_seconds_count", labels) or 0.0
    return 1000 * total / count if count else 0.0


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def blocks(sides: dict[str, dict], calls: int, rounds: int) -> dict[str, list[float]]:
    """Each side in turn, a block of calls at a time, the shadow's pool drained between blocks:
    the work its threads do (they share the interpreter with the caller) falls on the calls of
    the shadowed side, not on whichever call happens to follow it."""
    from ecommerce.wiring import shadow

    samples: dict[str, list[float]] = {label: [] for side in sides.values() for label in side}
    clock = time.perf_counter
    per_block = max(1, calls // rounds)
    for round_ in range(rounds + 1):  # the first round warms up and is not kept
        for side in sides.values():
            for _ in range(per_block):
                for label, call in side.items():
                    started = clock()
                    call()
                    if round_:
                        samples[label].append((clock() - started) * 1e6)
            assert shadow.wait_idle(60)
    return samples


def run(calls: int, products: int, rounds: int) -> None:
    with ExitStack() as stack:
        env = scratch_setup(
            stack,
            REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
            SHADOW="",
            CUTOVER="",
        )
        from django.conf import settings
        from django.db import connections

        from apps.product.adapters import LocalProductAdapter
        from ecommerce.transports.grpc.contracts import CONTRACTS

        GrpcProductAdapter = CONTRACTS["product"].client  # noqa: N806 - a class
        from apps.product.models import Category, Product
        from ecommerce.contracts.product.port import ProductQuery
        from ecommerce.wiring import shadow

        category = Category.objects.create(name="Coffee", slug="coffee")
        ids = [
            Product.objects.create(
                sku=f"BENCH-{n:04}",
                name=f"Coffee {n:04}",
                description="From our coffee range.",
                price=1000 + n,
                currency="USD",
                category=category,
                stock=100,
            ).pk
            for n in range(products)
        ]
        # The service's own database: a copy of the monolith's (phase 0 keeps the catalogue in
        # the `product` schema of DATABASE_URL).
        connections.close_all()
        server, _, name = env["DATABASE_URL"].rpartition("/")
        copy_name = f"{name}_service"
        copy = _copy_database(server, name, copy_name)
        stack.callback(_drop_database, server, copy_name)
        grpc_port = serve_product(stack, env, DATABASE_URL=copy)
        settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "product": f"127.0.0.1:{grpc_port}"}
        local = LocalProductAdapter()
        remote = GrpcProductAdapter()
        shadowed = shadow.ShadowAdapter("product", local, lambda: remote)
        assert local.get(ids[0]) == remote.get(ids[0])
        query = ProductQuery(category="coffee", ordering="price", limit=20)

        def cycle():
            position = 0

            def next_id() -> int:
                nonlocal position
                position = (position + 1) % len(ids)
                return ids[position]

            return next_id

        plain_id, shadow_id = cycle(), cycle()
        sides = {
            "in-process": {
                "get, in-process": lambda: local.get(plain_id()),
                "list, in-process": lambda: local.list(query),
            },
            "in-process + shadow": {
                "get, in-process + shadow": lambda: shadowed.get(shadow_id()),
                "list, in-process + shadow": lambda: shadowed.list(query),
            },
        }
        rows = {label: call for side in sides.values() for label, call in side.items()}
        before = _counts()
        samples = blocks(sides, calls, rounds)
        after = _counts()
        print(
            f"ProductPort.get and .list (20 of {products}); {platform.node()}, {os.cpu_count()} "
            f"cores, Python {platform.python_version()}; {calls} calls of each kind, "
            f"in {rounds} interleaved blocks per side, after warm-up; shadow pool {settings.SHADOW_WORKERS} threads, queue "
            f"{settings.SHADOW_QUEUE}; other work may have been running on this machine"
        )
        print(f"{'':28} {'p50 µs':>8} {'p99 µs':>8} {'mean µs':>8}")
        results = {}
        for label in rows:
            p50, p99, mean, _ = summary(samples[label])
            results[label] = (p50, p99)
            print(f"{label:28} {p50:>8.0f} {p99:>8.0f} {mean:>8.0f}")
        for op in ("get", "list"):
            plain, with_shadow = results[f"{op}, in-process"], results[f"{op}, in-process + shadow"]
            print(
                f"shadow overhead on {op}: p50 {with_shadow[0] - plain[0]:+.0f} µs, "
                f"p99 {with_shadow[1] - plain[1]:+.0f} µs"
            )
        made = {k: int(after[k] - before[k]) for k in after}
        print(
            f"identical databases: {made['calls']} compared, {made['mismatches']} mismatches, "
            f"{made['errors']} errors, {made['dropped']} dropped (queue full); remote answer "
            f"{_remote_mean_ms():.2f} ms on average"
        )

        # The seeded difference: one product's price, in the service's database only.
        seeded = ids[5]  # on the first page of the list too
        with psycopg.connect(copy) as conn:
            conn.execute(
                "UPDATE product.product_product SET price = price + 100 WHERE id = %s"
                if _has_schema(conn)
                else "UPDATE product_product SET price = price + 100 WHERE id = %s",
                [seeded],
            )
        lines = _Lines()
        logging.getLogger("ecommerce.wiring.shadow").addHandler(lines)
        shadow.reset()
        before = _counts()
        for product_id in ids:
            shadowed.get(product_id)
            time.sleep(0.002)  # a caller's pace: nothing dropped
        shadowed.list(query)
        assert shadow.wait_idle(60)
        after = _counts()
        made = {k: int(after[k] - before[k]) for k in after}
        print(
            f"seeded difference (product {seeded}'s price +100 in the service's database): "
            f"{made['calls']} compared, {made['mismatches']} mismatches, {made['errors']} errors, "
            f"{made['dropped']} dropped"
        )
        for line in lines.lines[:2]:
            print(f"  logged: {line[:240]}...")


def _has_schema(conn: psycopg.Connection) -> bool:
    found = conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'product' "
        "AND table_name = 'product_product'"
    ).fetchone()
    return found is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    run(args.calls, args.products, args.rounds)


if __name__ == "__main__":
    main()
