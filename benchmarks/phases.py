"""Checkout per phase: the same shoppers against phase 0 (one process) and phase 3 (services).

Both phases run on identical storage, a scratch PostgreSQL database per alias (dropped
afterwards), so the difference is the topology alone: in phase 0 the web process and one Celery
worker do everything in-process; from phase 1 on, the edge calls each extracted app's `serve`
process over gRPC (and the monolith serves the apps those services call), and by phase 3 the saga
runs in the order service's worker. Shoppers are client threads that fill
a cart, check out through the REST API and wait for their order to end, then go again.
Latency is what a shopper waits: from sending POST /api/checkout to seeing the order finished.

    python -m benchmarks.phases [--phases 0,1,2,3] [--seconds 10] [--levels 1,8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import phases
from benchmarks.saga import (
    SEED,
    Api,
    Watcher,
    free_port,
    http_ok,
    percentile,
    process,
    wait_for,
)
from phases.services import DATABASE_ALIASES
from tests.fixtures import databases

ROOT = Path(__file__).resolve().parents[1]
ALIASES = ("default", *DATABASE_ALIASES)


@contextmanager
def scratch_databases(server: str):
    names = [f"ecommerce_phase_bench_{os.getpid()}_{alias}" for alias in ALIASES]
    with databases.scratch_databases(server, names) as urls:
        yield dict(zip(ALIASES, urls, strict=True))


def shopper(port, token, product_id, finished, window, results) -> None:
    api = Api(port, token)
    serial = 0
    start, until = window
    while time.monotonic() < until:
        serial += 1
        status, body = api.post("/api/cart/items", {"product_id": product_id, "quantity": 1})
        if status != 201:
            raise RuntimeError(f"cart add answered {status}: {body}")
        sent = time.monotonic()
        status, body = api.post(
            "/api/checkout",
            {"payment_method": "pm_card_visa"},
            **{"Idempotency-Key": f"{token[:8]}-{serial}"},
        )
        answered = time.monotonic()
        if status != 201:
            raise RuntimeError(f"checkout answered {status}: {body}")
        if not finished.expect(body["order_id"]).wait(timeout=60):
            raise RuntimeError(f"order {body['order_id']} did not end in 60s")
        done = time.monotonic()
        if start <= done <= until:
            results.append(((answered - sent) * 1000, (done - sent) * 1000))


def run_phase(phase: str, databases: dict[str, str], args, workdir: Path) -> list[dict]:
    stripe_port, web_port = free_port(), free_port()
    base = dict(
        os.environ,
        ECOMMERCE_MODE="services",
        DJANGO_SETTINGS_MODULE="settings.services",
        DATABASE_URL=databases["default"],
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        CACHE_KEY_PREFIX=f"phasebench{os.getpid()}",
        CELERY_BROKER_URL=os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
        STRIPE_API_BASE=f"http://127.0.0.1:{stripe_port}",
        STRIPE_SECRET_KEY="sk_test_bench",
        KAFKA_BOOTSTRAP_SERVERS="",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        EXTRACTED="",
        **{
            f"{alias.upper()}_DATABASE_URL": url
            for alias, url in databases.items()
            if alias != "default"
        },
    )
    manage = [sys.executable, "manage.py"]
    setup = dict(base, PHASE="0")
    subprocess.run(
        [*manage, "migrate_all", "-v0"], cwd=ROOT, env=setup, check=True, stdout=subprocess.DEVNULL
    )
    users = json.loads(
        subprocess.run(
            [*manage, "shell", "-c", SEED.format(users=max(args.levels)).replace("shopper{n}", f"p{phase}shopper{{n}}").replace("BENCH-{n}", f"P{phase}-{{n}}")],
            cwd=ROOT, env=setup, check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "ecommerce", "purge", "-f", "-Q", "order,cart"],
        cwd=ROOT, env=setup, check=True, capture_output=True,
    )  # fmt: skip
    env = dict(base, PHASE=phase)
    with ExitStack() as stack:
        stack.enter_context(
            process(
                [sys.executable, "-m", "stripe_local", "--port", str(stripe_port)],
                env,
                workdir / f"stripe{phase}.log",
            )
        )
        chosen = phases.parse(phase)
        served = sorted(chosen.extracted | chosen.monolith_endpoints())
        targets = {app: f"127.0.0.1:{free_port()}" for app in served}
        env.update({f"{app.upper()}_GRPC_TARGET": t for app, t in targets.items()})
        # The monolith's worker takes the saga's queues the phase has not given to a service.
        monolith_queues = [q for q in ("order", "cart") if not chosen.is_remote(q)]
        if monolith_queues:
            stack.enter_context(
                process(
                    [sys.executable, "-m", "celery", "-A", "ecommerce", "worker", "-l", "WARNING",
                     "-Q", ",".join([*monolith_queues, "celery"]),
                     "-c", str(args.worker_concurrency), "--without-gossip", "--without-mingle",
                     "-n", f"phasebench-{os.getpid()}@%h"],
                    env, workdir / f"worker{phase}.log",
                )
            )  # fmt: skip
        for app in served:
            command = [*manage, "serve", app, "--grpc-port", targets[app].rsplit(":", 1)[1],
                       "--http-port", str(free_port())]  # fmt: skip
            if not (chosen.is_remote(app) and app in ("order", "cart")):
                command.append("--no-worker")
            stack.enter_context(
                process(
                    command,
                    dict(
                        env,
                        ECOMMERCE_SERVES=app,
                        SERVICE_WORKER_CONCURRENCY=str(args.worker_concurrency),
                    ),
                    workdir / f"serve{phase}-{app}.log",
                )
            )
        stack.enter_context(
            process(
                [sys.executable, "-m", "gunicorn", "ecommerce.wsgi:application", "--bind",
                 f"127.0.0.1:{web_port}", "--workers", str(args.web_workers), "--no-control-socket"],
                env, workdir / f"web{phase}.log",
            )
        )  # fmt: skip
        wait_for(lambda: http_ok(web_port, "/readyz"), f"phase {phase} edge", timeout=60)
        if targets:
            wait_for(lambda: _all_serving(targets), "the services", timeout=60)
        # Warm up every process and connection before measuring.
        warm = Api(web_port, users[0][0])
        for _ in range(3):
            _one_checkout(warm, users[0][1], databases["order"])
        rows = []
        for level in args.levels:
            rows.append(measure(level, web_port, users, databases["order"], args))
        return rows


def _all_serving(targets: dict[str, str]) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    for target in targets.values():
        with grpc.insecure_channel(target) as channel:
            try:
                stub = health_pb2_grpc.HealthStub(channel)
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status != 1:
                    return False
            except grpc.RpcError:
                return False
    return True


def _one_checkout(api: Api, product_id: int, order_dsn: str) -> None:
    finished = Watcher(order_dsn, table="order_order")
    thread = threading.Thread(target=finished.run, daemon=True)
    thread.start()
    results: list = []
    now = time.monotonic()
    shopper(
        api.connection.port,
        api.headers["Authorization"][6:],
        product_id,
        finished,
        (now, now + 0.01),
        results,
    )
    finished.stop.set()
    thread.join()


def measure(level: int, port: int, users, order_dsn: str, args) -> dict:
    finished = Watcher(order_dsn, table="order_order")
    poller = threading.Thread(target=finished.run, daemon=True)
    poller.start()
    results: list[tuple[float, float]] = []
    start = time.monotonic() + args.warmup
    window = (start, start + args.seconds)
    threads = [
        threading.Thread(target=shopper, args=(port, token, product, finished, window, results))
        for token, product in users[:level]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished.stop.set()
    poller.join()
    answers = [a for a, _ in results]
    totals = [t for _, t in results]
    return {
        "level": level,
        "checkouts": len(results),
        "per_second": len(results) / args.seconds,
        "post_p50": percentile(answers, 50) if answers else float("nan"),
        "p50": percentile(totals, 50) if totals else float("nan"),
        "p95": percentile(totals, 95) if totals else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="0,1,2,3")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--levels", default="1,8")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()
    args.levels = [int(n) for n in args.levels.split(",")]
    postgres = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    workdir = Path(tempfile.mkdtemp(prefix="phase-bench-"))
    print(
        f"checkout per phase: {platform.node()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; gunicorn --workers {args.web_workers}, Celery -c "
        f"{args.worker_concurrency}; {args.seconds:.0f}s measured per level after "
        f"{args.warmup:.0f}s; other work may have been running on this machine",
        flush=True,
    )
    print(
        f"{'phase':>5} {'shoppers':>8} {'checkouts':>9} {'per s':>6} {'POST p50 ms':>11} {'end p50 ms':>10} {'end p95 ms':>10}"
    )
    summary = {}
    for phase in args.phases.split(","):
        with scratch_databases(postgres) as databases:
            for row in run_phase(phase, databases, args, workdir):
                summary[(phase, row["level"])] = row
                print(
                    f"{phase:>5} {row['level']:>8} {row['checkouts']:>9} {row['per_second']:>6.1f} "
                    f"{row['post_p50']:>11.1f} {row['p50']:>10.1f} {row['p95']:>10.1f}",
                    flush=True,
                )
    if ("0", 1) in summary and ("3", 1) in summary:
        ratio = summary[("3", 1)]["p50"] / summary[("0", 1)]["p50"]
        verdict = "met" if ratio <= 2 else "missed"
        print(
            f"\nphase 3 / phase 0 checkout p50, one shopper: {ratio:.2f}x (goal <= 2x: {verdict})"
        )
    print(f"logs: {workdir}")


if __name__ == "__main__":
    main()
