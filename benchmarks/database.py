"""The catalogue at scale: each query family's p50/p99 and statements per request, by size.

Seeds catalogues of 1,000, 100,000 and 1,000,000 products in a scratch PostgreSQL database
(generated inside PostgreSQL with generate_series: names, descriptions and SKUs from word lists,
20 categories), then calls each family through the real code path, Django's test client against
the public API (the admin's changelist with a staff session), uncached, in one process: no
server, no network, so the figures are the application's and the database's. Statements are
what Django sends to the product and cart databases per request. With `--plans DIR`, the
EXPLAIN (ANALYZE, BUFFERS) of each family's statements on products is written there.

    python -m benchmarks.database [--sizes 1000,100000,1000000] [--requests 20] [--rounds 4]
                                  [--plans DIR] [--keep]

Scratch databases: `bench_catalogue<TEST_DB_SUFFIX>`, migrated, and a copy of it per size,
`bench_catalogue_<size><TEST_DB_SUFFIX>`, each seeded once; the families are measured with the
sizes interleaved. All are dropped at the end (`--keep` keeps them).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.catalogue import run

# Word lists: a name is an adjective, a material and a noun ("Compact Walnut Kettle"); a
# description is two sentences drawn from the same lists plus words that only descriptions use.
ADJECTIVES = (
    "compact classic rustic modern vintage sleek sturdy handmade portable elegant deluxe "
    "minimal ergonomic premium essential everyday lightweight heavy-duty artisan nordic "
    "industrial organic smart foldable insulated"
).split()
MATERIALS = (
    "walnut oak bamboo ceramic porcelain steel copper brass glass linen cotton wool leather "
    "marble granite cast-iron enamel stoneware silicone titanium"
).split()
NOUNS = (
    "kettle teapot mug grinder press dripper scale tumbler carafe jar bowl plate knife board "
    "pan skillet whisk spatula lamp chair stool shelf basket blanket pillow backpack wallet "
    "notebook pen watch speaker"
).split()
DESCRIPTION_WORDS = (
    "dishwasher-safe gift-ready fairtrade recyclable stackable waterproof scratch-resistant "
    "hand-finished limited-edition award-winning family-owned small-batch zero-waste "
    "long-lasting repairable certified"
).split()
CATEGORIES = (
    "Coffee Tea Kitchen Tableware Cookware Lighting Furniture Storage Bedding Bags Stationery "
    "Audio Garden Bath Travel Outdoor Office Toys Pets Gifts"
).split()


def seed(conn: psycopg.Connection, size: int) -> float:
    """Replace the catalogue with `size` products; seconds taken (ANALYZE included)."""
    started = time.monotonic()
    conn.execute("TRUNCATE product_stockholdline, product_stockhold, product_product, "
                 "product_category, product_outboxevent RESTART IDENTITY CASCADE")  # fmt: skip
    conn.execute(
        "INSERT INTO product_category (name, slug) SELECT c, lower(c) FROM unnest(%s::text[]) c",
        [list(CATEGORIES)],
    )
    conn.execute("SELECT setseed(0.42)")
    # One row of random picks per product, then the text built from them.
    conn.execute(
        """
        INSERT INTO product_product
            (sku, name, description, price, currency, category_id, is_active, stock,
             created_at, updated_at)
        SELECT
            'SKU-' || lpad(g::text, 7, '0'),
            initcap(a[1 + (random() * (array_length(a, 1) - 1))::int]) || ' '
              || initcap(m[1 + (random() * (array_length(m, 1) - 1))::int]) || ' '
              || initcap(n[1 + (random() * (array_length(n, 1) - 1))::int]),
            'A ' || a[1 + (random() * (array_length(a, 1) - 1))::int] || ' '
              || n[1 + (random() * (array_length(n, 1) - 1))::int] || ' in '
              || m[1 + (random() * (array_length(m, 1) - 1))::int] || ', '
              || d[1 + (random() * (array_length(d, 1) - 1))::int] || ' and '
              || d[1 + (random() * (array_length(d, 1) - 1))::int] || '. Made to go with our '
              || n[1 + (random() * (array_length(n, 1) - 1))::int] || ' range, number '
              || g || '.',
            100 + (random() * 49900)::int,
            'USD',
            1 + (random() * 19)::int,
            random() < 0.95,
            (random() * 100)::int,
            now() - (random() * interval '900 days'),
            now()
        FROM generate_series(1, %s) g,
             (SELECT %s::text[] a, %s::text[] m, %s::text[] n, %s::text[] d) words
        """,
        [size, list(ADJECTIVES), list(MATERIALS), list(NOUNS), list(DESCRIPTION_WORDS)],
    )
    conn.execute("VACUUM (ANALYZE) product_product")
    conn.execute("ANALYZE product_category")
    return time.monotonic() - started


def families(size: int) -> list[tuple[str, str]]:
    """(family, path) for each query family; ids and pages chosen for the size."""
    last_page = max(1, size * 95 // 100 // 20 - 1)  # about 95 % of products are active
    rows = [
        ("list, no filter, by name", "/api/products"),
        *(
            (
                f"list, category, by {ordering}",
                f"/api/products?category=kitchen&ordering={ordering}",
            )
            for ordering in ("name", "-name", "price", "-price", "id")
        ),
        ("search, name word", "/api/products?search=kettle"),
        ("search, name prefix", "/api/products?search=kett"),
        ("search, two words", "/api/products?search=walnut%20kettle"),
        ("search, description word", "/api/products?search=repairable"),
        ("search, a word no product has", "/api/products?search=xylophone"),
        ("search, by relevance", "/api/products?search=kettle&ordering=relevance"),
        ("search, SKU", f"/api/products?search=sku-{size // 2:07d}"),
        ("detail", "DETAIL"),
        ("deep page (page=)", f"/api/products?page={min(last_page, 100_000)}"),
        ("cart add", "CART_ADD"),
        ("cart read", "/api/cart"),
        ("admin changelist", "/admin/product/product/"),
        ("admin changelist search", "/admin/product/product/?q=kettle"),
    ]
    return rows


def staff_client():
    """A logged-in superuser's client, for the admin's changelist."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    return client


def shopper_client(size: int):
    """A shopper's token client (a shopper per size: a cart names one catalogue's products)."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model().objects.get_or_create(username=f"bench-shopper-{size}")
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def cart_products(size: int) -> list[int]:
    """Ten products on sale with stock to spare, which the cart's adds cycle through."""
    from apps.product.models import Product

    found = Product.objects.filter(is_active=True, stock__gte=50).order_by("id")
    return list(found.values_list("id", flat=True)[:10])


def deep_cursor_path(size: int) -> tuple[str, str] | None:
    """The cursor page at the same depth as the deep `page=`, where the API has cursors."""
    from apps.product import selectors
    from ecommerce.contracts.product.port import ProductQuery

    encode = getattr(selectors, "_encode", None)
    if encode is None:
        return None
    last_page = max(1, size * 95 // 100 // 20 - 1)
    depth = (min(last_page, 100_000) - 1) * 20
    before = selectors.product_filter(ProductQuery())[depth - 1 : depth] if depth else []
    if not before:
        return None
    return ("deep page (cursor=)", f"/api/products?cursor={encode('n', 'name', before[0])}")


def use(database: str) -> None:
    """Point the product alias at one size's database (the next statement reconnects)."""
    from django.db import connections

    connections["product"].close()
    connections["product"].settings_dict["NAME"] = database


def measure(
    databases: dict[int, str],
    requests: int,
    rounds: int,
    plans: Path | None,
    wanted: list[str] | None = None,
) -> dict[str, dict[int, tuple[float, float, float]]]:
    """Each family at every size, the sizes interleaved: `rounds` turns of requests/rounds each.

    Whatever else the machine does while a family is measured falls on every size alike.
    """
    import random

    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    api = Client()
    staff = staff_client()
    shoppers = {size: shopper_client(size) for size in databases}
    rng = random.Random(7)
    paths: dict[int, list[tuple[str, str]]] = {}
    in_cart: dict[int, list[int]] = {}
    for size, database in databases.items():
        use(database)
        in_cart[size] = cart_products(size)
        rows = families(size)
        extra = deep_cursor_path(size)
        if extra is not None:
            deep = next(i for i, r in enumerate(rows) if r[0] == "deep page (page=)")
            rows.insert(deep + 1, extra)
        paths[size] = rows
    sizes = list(databases)
    results: dict[str, dict[int, tuple[float, float, float]]] = {}
    captured: dict[tuple[str, int], list[str]] = {}
    per_round = max(1, requests // rounds)
    for index, (family, _) in enumerate(paths[sizes[0]]):
        if wanted and not any(w in family for w in wanted):
            continue
        timings: dict[int, list[float]] = {size: [] for size in sizes}
        statements: dict[int, list[int]] = {size: [] for size in sizes}
        for turn in range(rounds):
            for size in sizes:
                use(databases[size])
                path = paths[size][index][1]
                client = staff if path.startswith("/admin/") else api
                if path == "CART_ADD" or path.startswith("/api/cart"):
                    client = shoppers[size]
                warm = 3 if turn == 0 else 1  # a new connection each turn: warm it, uncounted
                for attempt in range(per_round + warm):
                    target = f"/api/products/{rng.randint(1, size)}" if path == "DETAIL" else path
                    with ExitStack() as stack:
                        queries = [
                            stack.enter_context(CaptureQueriesContext(connections[alias]))
                            for alias in ("product", "cart")
                        ]
                        started = time.perf_counter()
                        if path == "CART_ADD":
                            body = {"product_id": rng.choice(in_cart[size]), "quantity": 1}
                            response = client.post(
                                "/api/cart/items", body, content_type="application/json"
                            )
                        else:
                            response = client.get(target)
                        elapsed = time.perf_counter() - started
                    # A detail may draw an inactive product (404): both are its answers.
                    if response.status_code not in (200, 201, 404):
                        raise RuntimeError(
                            f"{target}: {response.status_code} {response.content[:300]!r}"
                        )
                    if attempt >= warm:
                        timings[size].append(elapsed * 1e3)
                        statements[size].append(sum(len(q) for q in queries))
                        captured[family, size] = [s["sql"] for s in queries[0].captured_queries]
        results[family] = {}
        for size in sizes:
            ordered = sorted(timings[size])
            p50 = statistics.median(ordered)
            p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
            results[family][size] = (p50, p99, statistics.mean(statements[size]))
        print(row(family, results[family], sizes), flush=True)
    if plans is not None:
        write_plans(plans, databases, captured)
    return results


def row(family: str, figures: dict[int, tuple[float, float, float]], sizes: list[int]) -> str:
    cells = " ".join(f"{figures[s][0]:>8.2f} {figures[s][1]:>8.2f}" for s in sizes)
    ratio = figures[sizes[-1]][0] / figures[sizes[0]][0]
    return f"{family:<34} {cells} {figures[sizes[-1]][2]:>6.1f} {ratio:>7.1f}x"


def write_plans(plans: Path, databases: dict[int, str], captured: dict) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each family's statements on products, one file per size."""
    from django.db import connections

    plans.mkdir(parents=True, exist_ok=True)
    for size, database in databases.items():
        use(database)
        lines: list[str] = []
        for (family, at), statements in captured.items():
            if at != size:
                continue
            for number, statement in enumerate(statements, 1):
                if "product_product" not in statement:
                    continue
                with connections["product"].cursor() as cursor:
                    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}")
                    plan = "\n".join(r[0] for r in cursor.fetchall())
                lines += [f"## {size} products: {family} (statement {number})", "", statement, ""]
                lines += [plan, ""]
        (plans / f"plans-{size}.txt").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000", help="comma-separated")
    parser.add_argument("--requests", type=int, default=20, help="per family and size")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved turns (default 4)")
    parser.add_argument("--plans", type=Path, default=None, help="write EXPLAIN plans here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument(
        "--families", default="", help="only the families whose names contain one of these (a,b)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]

    server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    suffix = os.environ.get("TEST_DB_SUFFIX", "")
    name = f"bench_catalogue{suffix}"
    databases = {size: f"bench_catalogue_{size}{suffix}" for size in sizes}

    def drop_all(admin: psycopg.Connection) -> None:
        for database in (*databases.values(), name):
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )

    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        drop_all(admin)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database_url = f"{server}/{name}"
    os.environ.update(
        ECOMMERCE_MODE="services",
        DJANGO_SETTINGS_MODULE="benchmarks.settings",
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12"),
        CACHE_KEY_PREFIX=f"bench-db{os.getpid()}",
        # Uncached: every request reaches PostgreSQL, which is what is measured.
        CATALOGUE_CACHE_TIMEOUT="0",
        CATALOGUE_LOCAL_CACHE="0",
        LOG_LEVEL="WARNING",
        PHASE="0",
    )
    os.environ.pop("EXTRACTED", None)
    started = time.monotonic()
    try:
        # One migrated database, then a copy of it per size, each seeded once.
        run([sys.executable, "manage.py", "migrate_all", "-v0"], dict(os.environ))
        for size, database in databases.items():
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(database), sql.Identifier(name)
                    )
                )
            with psycopg.connect(f"{server}/{database}", autocommit=True,
                                 options="-c search_path=product") as conn:  # fmt: skip
                seconds = seed(conn, size)
            print(f"{size:>9} products seeded in {seconds:.1f}s", flush=True)
        import django

        django.setup()
        import logging

        logging.getLogger("django.request").setLevel(logging.ERROR)  # a detail's 404s
        header = " ".join(f"{f'{s:,} p50':>8} {'p99':>8}" for s in sizes)
        print(f"\n{'family (ms)':<34} {header} {'stmts':>6} {'last/1st':>8}")
        wanted = [w.strip() for w in args.families.split(",") if w.strip()]
        measure(databases, args.requests, args.rounds, args.plans, wanted)
        print(
            f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}; "
            f"{args.requests} requests per family and size in {args.rounds} interleaved turns, "
            f"one process, Django test client, catalogue cache off; statements at the largest "
            f"size; {time.monotonic() - started:.0f}s in all"
        )
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                drop_all(admin)


if __name__ == "__main__":
    main()
