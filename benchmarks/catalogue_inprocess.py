"""What one request costs inside a process, with no server and no network: the floor rows and a
cached product detail called through Django's WSGI handler, as gunicorn calls it.

Separates the framework's cost from the machine's: `make bench` measures the same paths under
gunicorn and wrk, where two cores also carry the load generator and Redis.

    python -m benchmarks.catalogue_inprocess [--requests 3000]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time

from benchmarks.catalogue import run, scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per path (default 3000)")
    args = parser.parse_args()
    postgres = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    with scratch_database(postgres) as database_url:
        os.environ.update(
            ECOMMERCE_MODE="services",
            DJANGO_SETTINGS_MODULE="benchmarks.settings",
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            CACHE_KEY_PREFIX=f"bench-inprocess{os.getpid()}",
            LOG_LEVEL="WARNING",
        )
        run([sys.executable, "manage.py", "migrate_all", "-v0"], dict(os.environ))
        run([sys.executable, "manage.py", "seed_demo"], dict(os.environ))
        measure(args.requests)


def measure(requests: int) -> None:
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.handlers.wsgi import WSGIHandler

    from apps.product import cache as catalogue_cache
    from apps.product.models import Product

    handler = WSGIHandler()

    def call(path: str) -> str:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
        }
        statuses = []
        body = handler(environ, lambda status, headers: statuses.append(status))
        b"".join(body)
        body.close()
        return statuses[0]

    product = Product.objects.filter(is_active=True).first()
    tier = catalogue_cache.local_tier()
    detail = f"/api/products/{product.pk}"
    call(detail)  # starts the memory tier's subscription
    deadline = time.monotonic() + 5
    while tier is not None and not tier.live and time.monotonic() < deadline:
        time.sleep(0.01)
    rows = [
        ("floor: bare Django JsonResponse", "/bench/floor"),
        ("floor through DRF APIView", "/bench/floor-drf"),
        ("product detail, cached (memory tier)", detail),
        ("floor + one raw MGET, no framework", "/bench/floor-raw-redis"),
    ]
    print(f"{'path':<40} {'µs per request':>15}")
    try:
        for name, path in rows:
            for _ in range(200):  # warm: caches, connections
                assert call(path).startswith("200"), path
            started = time.perf_counter()
            for _ in range(requests):
                call(path)
            elapsed = time.perf_counter() - started
            print(f"{name:<40} {elapsed / requests * 1e6:>15.0f}", flush=True)
    finally:
        cache.delete_pattern("*")
    if tier is None or not tier.live:
        print("(the memory tier was off: the detail row is a Redis hit)")


if __name__ == "__main__":
    main()
