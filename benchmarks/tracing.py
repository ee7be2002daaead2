"""What tracing costs: the cached product detail and the checkout, untraced, traced at 10 % and
traced at 100 %, side by side in one run.

Detail: three gunicorn servers of the catalogue benchmark's cached mode run at once, one per
setting, and wrk drives them in interleaved rounds (the median round of each is kept), so
whatever else the machine does falls on all three alike. Checkout: `benchmarks.saga` at one
level of shoppers in flight, run once per setting per round, the settings interleaved. Traced
processes export over OTLP/gRPC to a receiver this process runs (it counts what arrives; Jaeger
would sit on another machine, here it shares the cores).

    python -m benchmarks.tracing [--seconds 5] [--rounds 3] [--saga-level 16] [--saga-seconds 10]
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
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import psycopg
import redis

from benchmarks.catalogue import (
    ROOT,
    gunicorn,
    parse,
    platform_env,
    product_ids_script,
    run,
    scratch_database,
    wrk,
)
from tests.fixtures.otlp import OtlpReceiver


class Sink(OtlpReceiver):
    """The tests' OTLP receiver, counting spans instead of keeping them."""

    def __init__(self) -> None:
        super().__init__()
        self.received = 0

    def receive(self, request, transport: str) -> None:
        with self._lock:
            self.requests[transport] += 1
            self.received += sum(
                len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans
            )


def settings_for(sink: Sink) -> dict[str, dict[str, str]]:
    traced = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.grpc_port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
    }
    return {
        "off": {},
        "10 %": traced | {"OTEL_TRACES_SAMPLER_ARG": "0.1"},
        "100 %": traced | {"OTEL_TRACES_SAMPLER_ARG": "1.0"},
    }


def detail(args, configurations: dict[str, dict[str, str]]) -> dict[str, float]:
    postgres = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    prefix = f"tracebench{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="tracing-bench-"))
    args.workdir = workdir
    runs: dict[str, list] = {name: [] for name in configurations}
    try:
        with scratch_database(postgres) as database_url, ExitStack() as stack:
            env = platform_env(database_url, redis_url, workdir) | {
                "CATALOGUE_CACHE_TIMEOUT": "300",
                "CATALOGUE_LOCAL_CACHE": "1",
            }
            run([sys.executable, "manage.py", "migrate_all", "-v0"], env)
            run([sys.executable, "manage.py", "seed_demo"], env)
            with psycopg.connect(database_url, options="-c search_path=product") as conn:
                ids = [row[0] for row in conn.execute("SELECT id FROM product_product")]
            script = product_ids_script(workdir, ids)
            bases = {}
            for n, (name, extra) in enumerate(configurations.items()):
                server_env = env | extra | {"CACHE_KEY_PREFIX": f"{prefix}-{n}"}
                if extra:
                    server_env["OTEL_SERVICE_NAME"] = f"edge-{n}"
                bases[name] = stack.enter_context(
                    gunicorn(server_env, args.workers, 1, workdir / f"gunicorn-{n}.log")
                )
            for base in bases.values():
                for product_id in ids:  # every product read once: cached means cached
                    urllib.request.urlopen(f"{base}/api/products/{product_id}").close()
                wrk(base, "/", seconds=args.warmup, connections=args.connections, script=script)
            for _ in range(args.rounds):
                for name, base in bases.items():
                    output = wrk(
                        base, "/", seconds=args.seconds, connections=args.connections, script=script
                    )
                    runs[name].append(parse(name, output))
    finally:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"{prefix}-*"):
            client.delete(key)
        shutil.rmtree(workdir, ignore_errors=True)
    kept = {}
    for name, results in runs.items():
        median = sorted(results, key=lambda r: r.requests_per_second)[len(results) // 2]
        kept[name] = median.requests_per_second
        median.name = f"detail, tracing {name}"
        print(f"  {median.row()}", flush=True)
    return kept


def checkout(args, configurations: dict[str, dict[str, str]]) -> dict[str, float]:
    runs: dict[str, list[float]] = {name: [] for name in configurations}
    for _ in range(args.saga_rounds):
        for name, extra in configurations.items():
            env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | extra
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.saga",
                    "--levels",
                    str(args.saga_level),
                    "--floor-levels",
                    "",
                    "--seconds",
                    str(args.saga_seconds),
                    "--warmup",
                    "3",
                ],  # fmt: skip
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            rate = _sagas_per_second(done.stdout)
            if done.returncode != 0 or rate is None:
                sys.exit(f"benchmarks.saga failed ({name}):\n{done.stdout}\n{done.stderr[-3000:]}")
            runs[name].append(rate)
            print(f"  checkout, tracing {name:<6} {rate:8.1f} sagas/s", flush=True)
    return {name: sorted(rates)[len(rates) // 2] for name, rates in runs.items()}


# benchmarks.saga's row: flow, in flight, sagas, failed, sagas/s, ...
_ROW = re.compile(r"^\s*checkout\s+\d+\s+\d+\s+\d+\s+([\d.]+)\s", re.MULTILINE)


def _sagas_per_second(output: str) -> float | None:
    match = _ROW.search(output)
    return float(match.group(1)) if match else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per wrk round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds, median kept")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--saga-level", type=int, default=16, help="sagas in flight (default 16)")
    parser.add_argument("--saga-seconds", type=float, default=10)
    parser.add_argument("--saga-rounds", type=int, default=1, help="median kept (default 1)")
    parser.add_argument("--skip-checkout", action="store_true")
    parser.add_argument("--skip-detail", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks.tracing needs wrk (Debian: apt-get install wrk)")
    started, load_before = time.monotonic(), os.getloadavg()[0]
    sink = Sink().start()
    try:
        configurations = settings_for(sink)
        details = {}
        if not args.skip_detail:
            print("cached product detail (req/s):", flush=True)
            details = detail(args, configurations)
        sagas = {} if args.skip_checkout else checkout(args, configurations)
    finally:
        sink.stop()
    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; gunicorn {args.workers} sync workers per server, wrk "
        f"{args.connections} connections, median of {args.rounds} interleaved {args.seconds}s "
        f"rounds; checkout at {args.saga_level} in flight, {args.saga_seconds:.0f}s per run, "
        f"{args.saga_rounds} run(s) per setting, interleaved; {sink.received} spans received; "
        f"{time.monotonic() - started:.0f}s in all; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    print(f"{'':<28} {'off':>10} {'10 %':>10} {'100 %':>10} {'10 % / off':>11} {'goal':>6}")
    rows = [("cached detail, req/s", details)] if details else []
    if sagas:
        rows.append(("checkout, sagas/s", sagas))
    for label, figures in rows:
        ratio = figures["10 %"] / figures["off"] if figures["off"] else 0.0
        print(
            f"{label:<28} {figures['off']:>10.1f} {figures['10 %']:>10.1f} "
            f"{figures['100 %']:>10.1f} {ratio:>10.0%} {'met' if ratio >= 0.95 else 'missed':>6}"
        )


if __name__ == "__main__":
    main()
