"""Catalogue benchmark: product list and detail, cached and uncached, beside a bare Django floor.

Runs the platform in services mode under gunicorn (PostgreSQL and Redis, a seeded catalogue in a
scratch database that is dropped afterwards), drives each endpoint with wrk over loopback for a
bounded time, and prints req/s, p50 and p99. Three servers: cached (each worker's memory in
front of Redis), Redis tier only (CATALOGUE_LOCAL_CACHE=0: every hit one round trip) and
uncached (CATALOGUE_CACHE_TIMEOUT=0: the same code path, every read goes to PostgreSQL).

    python -m benchmarks.catalogue [--seconds 5] [--rounds 3] [--workers 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from tests.fixtures import databases

ROOT = Path(__file__).resolve().parents[1]
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class Result:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-2xx answers and socket errors

    def row(self) -> str:
        return (
            f"{self.name:<36} {self.requests_per_second:>9.0f} {self.p50_ms:>9.2f} "
            f"{self.p99_ms:>9.2f} {self.requests:>9} {self.bad:>5}"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def scratch_database(server: str):
    """A database of this run's own on `server`, dropped afterwards; yields its URL."""
    return databases.scratch_database(server, f"ecommerce_bench_{os.getpid()}")


@contextmanager
def gunicorn(env: dict[str, str], workers: int, threads: int, log: Path, *, port: int = 0):
    port = port or free_port()
    command = [
        sys.executable, "-m", "gunicorn", "ecommerce.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--no-control-socket",
        "--error-logfile", str(log),
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not become ready; see {log}") from None
                time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wrk(base: str, path: str, *, seconds: int, connections: int, script: Path | None) -> str:
    command = [
        "wrk", "--latency", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
        "--timeout", "5s",
    ]  # fmt: skip
    if script is not None:
        command += ["-s", str(script)]
    completed = subprocess.run(
        [*command, f"{base}{path}"], capture_output=True, text=True, check=True
    )
    return completed.stdout


def parse(name: str, output: str) -> Result:
    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * UNITS[unit]

    requests = int(re.search(r"(\d+) requests in", output).group(1))
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if errors:
        bad += sum(int(n) for n in errors.groups())
    return Result(
        name=name,
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        requests=requests,
        bad=bad,
    )


def product_ids_script(directory: Path, ids: list[int]) -> Path:
    """A wrk script that asks for a random product of the catalogue on every request."""
    script = directory / "product_detail.lua"
    script.write_text(
        "local ids = {" + ",".join(map(str, ids)) + "}\n"
        "math.randomseed(os.time())\n"
        "request = function()\n"
        '  return wrk.format("GET", "/api/products/" .. ids[math.random(#ids)])\n'
        "end\n"
    )
    return script


def fixed_path_script(directory: Path, path: str) -> Path:
    """A wrk script that asks for one path through a Lua request function, as the detail's does.

    wrk spends CPU on every call of a Lua `request` function, on the same two cores as the
    server; driving every endpoint through one keeps that cost out of the comparison.
    """
    script = directory / f"fixed-{abs(hash(path))}.lua"
    script.write_text(f'request = function()\n  return wrk.format("GET", "{path}")\nend\n')
    return script


def measure(base: str, targets: list[tuple[str, str, Path | None]], args) -> list[Result]:
    """Each target for `rounds` interleaved rounds; the round with the median req/s is kept.

    Interleaving spreads whatever else the machine is doing over every target alike.
    """
    targets = [
        (name, path, lua or fixed_path_script(args.workdir, path)) for name, path, lua in targets
    ]
    for _, path, lua in targets:  # fills the cache (cached mode) and the connection pools
        wrk(base, path, seconds=args.warmup, connections=args.connections, script=lua)
    runs: dict[str, list[Result]] = {name: [] for name, _, _ in targets}
    for _ in range(args.rounds):
        for name, path, lua in targets:
            output = wrk(base, path, seconds=args.seconds, connections=args.connections, script=lua)
            runs[name].append(parse(name, output))
    kept = []
    for name, _, _ in targets:
        ordered = sorted(runs[name], key=lambda r: r.requests_per_second)
        kept.append(ordered[len(ordered) // 2])
        print(kept[-1].row(), flush=True)
    return kept


def platform_env(database_url: str, redis_url: str, workdir: Path) -> dict[str, str]:
    """The environment of a services-mode platform on a scratch database, and nothing else."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ECOMMERCE_MODE": "services",
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": os.environ.get(
            "CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"
        ),
        "ECOMMERCE_VAR_DIR": str(workdir / "var"),
        "LOG_LEVEL": "WARNING",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per measurement (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="median of this many (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds, discarded (default 2)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="per worker (default 1: sync workers, as in Procfile.phase0); more means gthread",
    )
    parser.add_argument("--products", type=int, default=1000, help="extra seeded products")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("make bench needs wrk, the HTTP load generator (Debian: apt-get install wrk)")

    postgres = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    prefix = f"bench{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="catalogue-bench-"))
    args.workdir = workdir
    results: list[Result] = []
    started = time.monotonic()
    with scratch_database(postgres) as database_url:
        env = platform_env(database_url, redis_url, workdir)
        print(f"seeding a catalogue in {database_url.rsplit('/', 1)[1]} ...", flush=True)
        run([sys.executable, "manage.py", "migrate_all", "-v0"], env)
        run([sys.executable, "manage.py", "seed_demo"], env)
        run([sys.executable, "-m", "benchmarks.seed", str(args.products)], env)
        with psycopg.connect(database_url, options="-c search_path=product") as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM product_product ORDER BY id")]
        script = product_ids_script(workdir, ids)
        print(
            f"{'endpoint':<36} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'requests':>9} {'bad':>5}"
        )
        try:
            modes = (
                # both tiers: each worker's memory, Redis behind it
                ("cached", {"CATALOGUE_CACHE_TIMEOUT": "300", "CATALOGUE_LOCAL_CACHE": "1"}),
                # Redis alone: every hit is one round trip
                (
                    "Redis tier only",
                    {"CATALOGUE_CACHE_TIMEOUT": "300", "CATALOGUE_LOCAL_CACHE": "0"},
                ),
                ("uncached", {"CATALOGUE_CACHE_TIMEOUT": "0", "CATALOGUE_LOCAL_CACHE": "0"}),
            )
            for mode, mode_settings in modes:
                targets = [
                    (f"product detail, {mode}", "/api/products/1", script),
                    (f"product list, {mode}", "/api/products?page_size=20", None),
                ]
                if mode == "cached":
                    targets = [
                        ("floor: bare Django JsonResponse", "/bench/floor", None),
                        *targets,
                        ("  floor + one Redis MGET", "/bench/floor-redis", None),
                        ("  floor through DRF APIView", "/bench/floor-drf", None),
                        ("  floor + one raw MGET, no framework", "/bench/floor-raw-redis", None),
                    ]
                elif mode == "uncached":
                    targets.insert(
                        0, ("floor: bare Django JsonResponse, again", "/bench/floor", None)
                    )
                # A key prefix per mode: no server finds another's entries.
                slug = mode.replace(" ", "-")
                mode_env = env | mode_settings | {"CACHE_KEY_PREFIX": f"{prefix}-{slug}"}
                with gunicorn(
                    mode_env, args.workers, args.threads, workdir / f"gunicorn-{mode}.log"
                ) as base:
                    for product_id in ids:  # every product read once: cached means cached
                        urllib.request.urlopen(f"{base}/api/products/{product_id}").close()
                    results += measure(base, targets, args)
        finally:
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(f"{prefix}-*"):
                client.delete(key)
            shutil.rmtree(workdir, ignore_errors=True)

    floor = results[0].requests_per_second
    detail = next(r for r in results if r.name == "product detail, cached")
    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"gunicorn {args.workers} workers x {args.threads} threads "
        f"({'sync' if args.threads == 1 else 'gthread'}); wrk 2 threads, {args.connections} connections, "
        f"median of {args.rounds} interleaved {args.seconds}s runs after a {args.warmup}s warm-up; "
        f"{len(ids)} products, detail requests spread over all of them; "
        f"{time.monotonic() - started:.0f}s in all"
    )
    print(f"{'endpoint':<36} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'requests':>9} {'bad':>5}")
    for result in results:
        print(result.row())
    ratio = detail.requests_per_second / floor
    verdict = "meets" if ratio >= 0.70 else "MISSES"
    print(f"\ncached product detail = {ratio:.0%} of the floor's req/s ({verdict} the 70% goal)")


if __name__ == "__main__":
    main()
