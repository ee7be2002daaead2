"""Connections: closed after each request or task, persistent, or psycopg's pool, side by side.

Three settings of the same platform, in one run:

- `CONN_MAX_AGE=0`: Django opens a connection per alias a request or task touches, and closes it
  at its end (`DATABASE_CONN_MAX_AGE=0`);
- `CONN_MAX_AGE=600`: each process keeps the connections it opened (`DATABASE_CONN_MAX_AGE=600`);
- the pool: psycopg's `ConnectionPool` per alias and process (`DATABASE_POOL=MIN,MAX`), which
  Django takes a connection from at first use and hands it back at the end.

The web: three gunicorn servers (sync workers, the catalogue uncached so every request reaches
PostgreSQL), each on its own copy of one seeded database, so `pg_stat_activity` and
`pg_stat_database` tell each server's connections apart; wrk drives the product detail and the
product list on each in interleaved rounds, the median round of each kept. "held" is the most
backends the server had open at once during the round (sampled every 50 ms), "opened" the
sessions PostgreSQL started for it in the round (`pg_stat_database.sessions`), per request.

The workers: `benchmarks.saga` (gunicorn, a prefork Celery worker, RabbitMQ, the local Stripe
server) at one level of sagas in flight, once per setting per round, the settings interleaved;
"held" and "opened" are read the same way from the saga benchmark's scratch database, over its
measured window (the benchmark's own watcher holds one of them).

    python -m benchmarks.connections [--seconds 5] [--rounds 3] [--pool 1] [--saga-level 16]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.catalogue import (
    ROOT,
    Result,
    fixed_path_script,
    gunicorn,
    parse,
    platform_env,
    product_ids_script,
    run,
    wrk,
)


def modes(pool: str) -> dict[str, dict[str, str]]:
    return {
        "CONN_MAX_AGE=0": {"DATABASE_CONN_MAX_AGE": "0"},
        "CONN_MAX_AGE=600": {"DATABASE_CONN_MAX_AGE": "600"},
        f"pool {pool}": {"DATABASE_POOL": pool},
    }


@dataclass
class Sampler:
    """Backends per database, polled every `every` seconds from one connection of its own."""

    server: str
    every: float = 0.05
    databases: set[str] = field(default_factory=set)
    peaks: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as connection:
            while not self.stop.is_set():
                with self.lock:
                    watched = list(self.databases)
                if watched:
                    rows = connection.execute(
                        "SELECT datname, count(*) FROM pg_stat_activity "
                        "WHERE datname = ANY(%s) AND pid <> pg_backend_pid() GROUP BY datname",
                        [watched],
                    ).fetchall()
                    with self.lock:
                        for name, count in rows:
                            self.peaks[name] = max(self.peaks.get(name, 0), count)
                time.sleep(self.every)

    def start(self) -> Sampler:
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join()

    def watch(self, name: str) -> None:
        with self.lock:
            self.databases.add(name)
            self.peaks[name] = 0

    def peak(self, name: str) -> int:
        """The most backends `name` had since the last call, and start again from none."""
        with self.lock:
            found, self.peaks[name] = self.peaks.get(name, 0), 0
        return found

    def sessions(self, name: str) -> int:
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as connection:
            connection.execute("SELECT pg_stat_clear_snapshot()")
            row = connection.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]
            ).fetchone()
        return int(row[0]) if row else 0

    def held(self, name: str) -> int:
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as connection:
            return connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]
            ).fetchone()[0]


@contextmanager
def databases(server: str, names: list[str], template: str):
    """A copy of `template` per name, dropped afterwards with the template itself."""

    def drop(admin, name):
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        for name in names:
            drop(admin, name)
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
    try:
        yield [f"{server}/{name}" for name in names]
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            for name in [*names, template]:
                drop(admin, name)


@dataclass
class WebRun:
    result: Result
    held: int
    opened: int


def web(args, settings: dict[str, dict[str, str]], sampler: Sampler) -> dict:
    server = args.postgres
    stem = f"conn_bench_{os.getpid()}"
    template = f"{stem}_seed"
    workdir = Path(tempfile.mkdtemp(prefix="connections-bench-"))
    args.workdir = workdir
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(template))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
    seed_env = platform_env(f"{server}/{template}", args.redis, workdir)
    print(f"seeding {template} ...", flush=True)
    run([sys.executable, "manage.py", "migrate_all", "-v0"], seed_env)
    run([sys.executable, "manage.py", "seed_demo"], seed_env)
    run([sys.executable, "-m", "benchmarks.seed", str(args.products)], seed_env)
    with psycopg.connect(f"{server}/{template}", options="-c search_path=product") as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM product_product ORDER BY id")]
    names = [f"{stem}_{n}" for n in range(len(settings))]
    targets = [
        ("product detail", "/", product_ids_script(workdir, ids)),
        ("product list", "/", fixed_path_script(workdir, "/api/products?page_size=20")),
    ]
    runs: dict[tuple[str, str], list[WebRun]] = {
        (target, mode): [] for target, _, _ in targets for mode in settings
    }
    try:
        with databases(server, names, template) as urls, ExitStack() as stack:
            bases = {}
            for n, ((mode, extra), url) in enumerate(zip(settings.items(), urls, strict=True)):
                env = platform_env(url, args.redis, workdir) | extra
                env |= {
                    "CATALOGUE_CACHE_TIMEOUT": "0",
                    "CATALOGUE_LOCAL_CACHE": "0",
                    "CACHE_KEY_PREFIX": f"{stem}-{n}",
                }
                bases[mode] = stack.enter_context(
                    gunicorn(env, args.workers, 1, workdir / f"gunicorn-{n}.log")
                )
                sampler.watch(names[n])
            for base in bases.values():
                for _, path, script in targets:
                    wrk(
                        base, path, seconds=args.warmup, connections=args.connections, script=script
                    )
            for _ in range(args.rounds):
                for target, path, script in targets:
                    for n, (mode, base) in enumerate(bases.items()):
                        before = sampler.sessions(names[n])
                        sampler.peak(names[n])
                        output = wrk(
                            base, path, seconds=args.seconds, connections=args.connections,
                            script=script,
                        )  # fmt: skip
                        held = sampler.peak(names[n])
                        time.sleep(1.0)  # ended backends report their session within a second
                        opened = sampler.sessions(names[n]) - before
                        runs[(target, mode)].append(
                            WebRun(parse(f"{target}, {mode}", output), held, opened)
                        )
            idle = {mode: sampler.held(names[n]) for n, mode in enumerate(bases)}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    kept = {}
    for key, found in runs.items():
        kept[key] = sorted(found, key=lambda r: r.result.requests_per_second)[len(found) // 2]
    return {"runs": kept, "idle": idle}


# benchmarks.saga's row: flow, in flight, sagas, failed, sagas/s, p50, p95, p99
_ROW = re.compile(r"^\s*checkout\s+\d+\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")


@dataclass
class SagaRun:
    sagas: int
    failed: int
    per_second: float
    p50: float
    p99: float
    held: int
    opened: int


def saga(args, extra: dict[str, str], sampler: Sampler) -> SagaRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DATABASE_"))} | extra
    child = subprocess.Popen(
        [
            sys.executable, "-m", "benchmarks.saga", "--levels", str(args.saga_level),
            "--floor-levels", "", "--seconds", str(args.saga_seconds), "--warmup", "3",
        ],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    name = f"ecommerce_bench_{child.pid}"  # benchmarks.saga's scratch database
    sampler.watch(name)
    lines: list[str] = []
    found, window, timer = None, {}, None

    def window_opens() -> None:
        window["before"] = sampler.sessions(name)
        sampler.peak(name)

    for line in child.stdout:
        lines.append(line)
        if timer is None and line.lstrip().startswith("flow"):
            timer = threading.Timer(3, window_opens)  # after its warm-up
            timer.start()
        elif timer is not None and found is None and (match := _ROW.match(line)):
            timer.join()
            held, opened = sampler.peak(name), sampler.sessions(name) - window["before"]
            found = SagaRun(
                int(match.group(1)), int(match.group(2)), float(match.group(3)),
                float(match.group(4)), float(match.group(6)), held, opened,
            )  # fmt: skip
    stderr = child.stderr.read()
    if child.wait() != 0 or found is None:
        sys.exit(f"benchmarks.saga failed ({extra}):\n{''.join(lines)}\n{stderr[-3000:]}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per wrk round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds, median kept")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--products", type=int, default=1000, help="extra seeded products")
    parser.add_argument(
        "--pool", default="1", help="DATABASE_POOL of the pooled setting (default 1)"
    )
    parser.add_argument("--saga-level", type=int, default=16, help="sagas in flight (default 16)")
    parser.add_argument("--saga-seconds", type=float, default=10)
    parser.add_argument("--saga-rounds", type=int, default=2, help="median kept (default 2)")
    parser.add_argument("--skip-web", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()
    if not args.skip_web and shutil.which("wrk") is None:
        sys.exit("benchmarks.connections needs wrk (Debian: apt-get install wrk)")
    args.postgres = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    args.redis = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    settings = modes(args.pool)
    started, load_before = time.monotonic(), os.getloadavg()
    sampler = Sampler(args.postgres).start()
    try:
        served = None if args.skip_web else web(args, settings, sampler)
        sagas: dict[str, list[SagaRun]] = {mode: [] for mode in settings}
        if not args.skip_workers:
            for _ in range(args.saga_rounds):
                for mode, extra in settings.items():
                    found = saga(args, extra, sampler)
                    sagas[mode].append(found)
                    print(
                        f"  checkout, {mode:<18} {found.per_second:7.1f} sagas/s, "
                        f"held {found.held}, opened {found.opened}",
                        flush=True,
                    )
    finally:
        sampler.close()
    load_after = os.getloadavg()

    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after; {time.monotonic() - started:.0f}s in all"
    )
    if served:
        print(
            f"\nweb: gunicorn {args.workers} sync workers per server, catalogue uncached; wrk "
            f"{args.connections} connections, median of {args.rounds} interleaved {args.seconds}s "
            f"rounds; held = most backends at once, opened = sessions started per 1,000 requests"
        )
        print(
            f"{'':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'held':>5} {'opened/1k':>10} "
            f"{'bad':>4}"
        )
        for (target, mode), kept in served["runs"].items():
            result = kept.result
            per_k = kept.opened * 1000 / max(1, result.requests)
            print(
                f"{target + ', ' + mode:<34} {result.requests_per_second:>8.0f} "
                f"{result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {kept.held:>5} {per_k:>10.0f} "
                f"{result.bad:>4}"
            )
        print(
            "held while idle after the last round: "
            + ", ".join(f"{mode} {count}" for mode, count in served["idle"].items())
        )
    if not args.skip_workers:
        print(
            f"\nworkers: benchmarks.saga at {args.saga_level} in flight (Celery prefork -c 4, "
            f"gunicorn 2 workers), {args.saga_seconds:.0f}s measured, median of "
            f"{args.saga_rounds} interleaved runs; held/opened over the measured window, "
            "the web's and the worker's together"
        )
        print(
            f"{'':<18} {'sagas/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'held':>5} "
            f"{'opened/saga':>12} {'failed':>7}"
        )
        for mode, found in sagas.items():
            kept = sorted(found, key=lambda r: r.per_second)[len(found) // 2]
            print(
                f"{mode:<18} {kept.per_second:>8.1f} {kept.p50:>8.1f} {kept.p99:>8.1f} "
                f"{kept.held:>5} {kept.opened / max(1, kept.sagas):>12.1f} {kept.failed:>7}"
            )


if __name__ == "__main__":
    main()
