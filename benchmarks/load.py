"""The whole journey under load: Locust shoppers against a phase's every process, then the books.

For each phase asked for, on scratch PostgreSQL databases (one per alias, dropped afterwards):
migrate, seed the demo catalogue (stock enough for the run), start every process of the phase's
Procfile (`phases/Procfile.phaseN`: the web process, the worker, the services, the local Tansu,
the relays, the local Stripe server, the analytics consumer, payment reconciliation), each
command as the Procfile has it, on ports of its own. Then Locust runs benchmarks/locustfile.py
headless for a bounded time, and the run is checked:

- no server error: no 5xx, no refused connection, no status the API does not document;
- every order terminal (COMPLETED or FAILED) once the shoppers stop;
- nothing lost: orders = payments (one per order that reached the charge) = the Stripe server's
  charges (succeeded + declined) = the analytics service's counts (orders created, completed,
  failed, payments succeeded and declined), once the consumer has caught up;
- each process's resident memory (psutil: the process and its children, so gunicorn's and
  Celery's workers count) at the end within 10 % of its level after the warm-up.

    python -m benchmarks.load [--phases 0,3] [--seconds 60] [--warmup 30] [--users 6]
    python -m benchmarks.load --url http://127.0.0.1:8000    # a platform already running
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import psutil
import psycopg

import phases
from benchmarks.phases import scratch_databases
from benchmarks.saga import process, wait_for

ROOT = Path(__file__).resolve().parents[1]
MEMORY_TOLERANCE = 0.10
# Stand-ins for what production buys (Kafka, Stripe), which keep every message and object in
# memory by design: measured and shown, not held to the bound.
STAND_INS = {"kafka", "stripe"}


class Ports:
    """Free ports, from `base` upwards when one is given (a range of one's own), else any."""

    def __init__(self, base: int) -> None:
        self._next = base

    def take(self) -> int:
        while True:
            with socket.socket() as sock:
                if self._next:
                    port, self._next = self._next, self._next + 1
                    try:
                        sock.bind(("127.0.0.1", port))
                    except OSError:
                        continue
                else:
                    sock.bind(("127.0.0.1", 0))
                return sock.getsockname()[1]


def procfile(phase: str) -> dict[str, str]:
    entries = {}
    for line in (ROOT / "phases" / f"Procfile.phase{phase}").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def platform_env(databases: dict[str, str], ports: Ports, workdir: Path) -> dict[str, str]:
    """Services mode on the scratch databases, with the benchmark settings (no rate limits)."""
    stripe, kafka, edge = ports.take(), ports.take(), ports.take()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ECOMMERCE_MODE": "services",
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "ECOMMERCE_VAR_DIR": str(workdir / "var"),
        "DATABASE_URL": databases["default"],
        "REDIS_URL": os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/12"),
        "CACHE_KEY_PREFIX": f"load{os.getpid()}",
        "CELERY_BROKER_URL": os.environ.get(
            "CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"
        ),
        "KAFKA_LOCAL_PORT": str(kafka),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka}",
        "STRIPE_LOCAL_PORT": str(stripe),
        "STRIPE_API_BASE": f"http://127.0.0.1:{stripe}",
        "STRIPE_SECRET_KEY": "sk_test_local",
        "STRIPE_WEBHOOK_SECRET": "whsec_local",
        "PORT": str(edge),
        "EDGE_PORT": str(edge),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "EXTRACTED": "",
        "DEMO_ADMIN_PASSWORD": "load-admin-1843",
        **{f"{a.upper()}_DATABASE_URL": u for a, u in databases.items() if a != "default"},
        **{f"{app.upper()}_GRPC_TARGET": f"127.0.0.1:{ports.take()}" for app in phases.NAMED[3]},
    }
    (workdir / "var").mkdir(parents=True, exist_ok=True)
    return env


def prepare(env: dict[str, str]) -> None:
    """Every database migrated, the demo catalogue with stock for any run, the queues empty."""
    setup = dict(env, PHASE="0")
    manage = [sys.executable, "manage.py"]
    for command in (
        [*manage, "migrate_all", "-v0"],
        [*manage, "seed_demo"],
        [
            *manage,
            "shell",
            "-c",
            "from apps.product.models import Product; Product.objects.update(stock=1_000_000)",
        ],
        [sys.executable, "-m", "celery", "-A", "ecommerce", "purge", "-f", "-Q", "order,cart"],
    ):
        subprocess.run(command, cwd=ROOT, env=setup, check=True, capture_output=True)


def start(phase: str, env: dict[str, str], ports: Ports, stack: ExitStack, logs: Path) -> dict:
    """Every process of the Procfile, each with a metrics port of its own; name -> Popen."""
    started = {}
    for name, command in procfile(phase).items():
        extra = {"METRICS_PORT": str(ports.take())}
        if " serve " in f" {command} ":
            app = shlex.split(command)[3]
            target = env[f"{app.upper()}_GRPC_TARGET"]
            command += f" --http-port {ports.take()} --worker-metrics-port {extra['METRICS_PORT']}"
            command += f" --grpc-port {target.rsplit(':', 1)[1]}"
        # As honcho runs a Procfile line: through the shell, which then becomes the process.
        assignments, rest = re.match(r"((?:\w+=\S+\s+)*)(.*)", command).groups()
        started[name] = stack.enter_context(
            process(
                ["sh", "-c", f"{assignments}exec {rest}"],
                dict(env, **extra),
                logs / f"{name}.log",
            )
        )
    return started


def resident(process: subprocess.Popen) -> int:
    """The process's resident memory and its children's (gunicorn's and Celery's workers)."""
    try:
        parent = psutil.Process(process.pid)
        tree = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for member in tree:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def ready(env: dict[str, str], started: dict) -> bool:
    for name, child in started.items():
        if child.poll() is not None:
            raise RuntimeError(f"{name} exited with {child.returncode}")
    try:
        url = f"http://127.0.0.1:{env['PORT']}/readyz"
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def books(databases: dict[str, str], stripe_base: str) -> dict[str, int]:
    """What every ledger says happened: the order and payment databases, the Stripe server and
    the analytics aggregates."""
    figures: dict[str, int] = {}
    with psycopg.connect(databases["order"]) as db:
        for status, count in db.execute("SELECT status, count(*) FROM order_order GROUP BY 1"):
            figures[f"orders_{status.lower()}"] = count
    figures["orders"] = sum(v for k, v in figures.items() if k.startswith("orders_"))
    with psycopg.connect(databases["payment"]) as db:
        for status, count in db.execute("SELECT status, count(*) FROM payment_payment GROUP BY 1"):
            figures[f"payments_{status.lower()}"] = count
    figures["payments"] = sum(
        v for k, v in figures.items() if k.startswith("payments_") and k != "payments"
    )
    with urllib.request.urlopen(f"{stripe_base}/_local/stats", timeout=5) as answer:
        stats = json.load(answer)
    figures["stripe_succeeded"] = stats["charges_succeeded"]
    figures["stripe_declined"] = stats["charges_declined"]
    with psycopg.connect(databases["analytics"]) as db:
        row = db.execute(
            "SELECT coalesce(sum(orders_created), 0), coalesce(sum(orders_completed), 0), "
            "coalesce(sum(orders_failed), 0), coalesce(sum(payments_succeeded), 0), "
            "coalesce(sum(payments_declined), 0) FROM analytics_activitybucket "
            "WHERE granularity = 'minute'"
        ).fetchone()
    for key, value in zip(("created", "completed", "failed", "paid", "declined"), row, strict=True):
        figures[f"analytics_{key}"] = int(value)
    return figures


def balanced(figures: dict[str, int]) -> list[str]:
    """What does not add up; empty when nothing was lost."""
    want = {
        "every order terminal": figures.get("orders_pending", 0) == 0,
        "orders = payments": figures["orders"] == figures["payments"],
        "payments succeeded = Stripe charges succeeded": figures.get("payments_succeeded", 0)
        == figures["stripe_succeeded"],
        "payments declined = Stripe charges declined": figures.get("payments_declined", 0)
        == figures["stripe_declined"],
        "orders = analytics orders created": figures["orders"] == figures["analytics_created"],
        "completed = analytics completed": figures.get("orders_completed", 0)
        == figures["analytics_completed"],
        "failed = analytics failed": figures.get("orders_failed", 0) == figures["analytics_failed"],
        "Stripe succeeded = analytics payments": figures["stripe_succeeded"]
        == figures["analytics_paid"],
        "Stripe declined = analytics declined": figures["stripe_declined"]
        == figures["analytics_declined"],
    }
    return [name for name, ok in want.items() if not ok]


def locust(host: str, args, out: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"),
        "--headless", "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{round(args.warmup + args.seconds)}s", "--stop-timeout", "10",
        "--host", host, "--csv", str(out), "--only-summary",
        "--exit-code-on-error", "0", *shlex.split(args.locust_args),
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(f"{out}.log", "wb"),  # noqa: SIM115
    )


def requests_summary(out: Path) -> dict:
    if not Path(f"{out}_stats.csv").exists():
        raise RuntimeError(f"locust wrote no figures:\n{Path(f'{out}.log').read_text()[-3000:]}")
    with open(f"{out}_stats.csv") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    total = rows["Aggregated"]
    errors: dict[str, int] = {}
    with open(f"{out}_failures.csv") as handle:
        for row in csv.DictReader(handle):
            errors[f"{row['Method']} {row['Name']}: {row['Error']}"] = int(row["Occurrences"])
    return {
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "per_second": float(total["Requests/s"]),
        "p50_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
        "p99_ms": float(total["99%"]),
        "server_errors": sum(n for e, n in errors.items() if "HTTP 5" in e or "HTTP 0" in e),
        "errors": errors,
        "checkouts": sum(
            int(r["Request Count"]) for n, r in rows.items() if n.startswith("/api/checkout")
        ),
    }


def run_phase(phase: str, databases: dict[str, str], args, workdir: Path) -> dict:
    ports = Ports(args.port_base)
    env = platform_env(databases, ports, workdir)
    env["PHASE"] = phase
    if args.grpc_tls:
        # Every gRPC call over mutual TLS: a CA and one certificate for every process.
        from tests.fixtures.tls import make_authorities

        (workdir / "tls").mkdir()
        env.update(make_authorities(workdir / "tls").ours.env())
    prepare(env)
    with ExitStack() as stack:
        started = start(phase, env, ports, stack, workdir)
        wait_for(lambda: ready(env, started), f"phase {phase}", timeout=120)
        out = workdir / f"locust-phase{phase}"
        shoppers = locust(f"http://127.0.0.1:{env['PORT']}", args, out)
        began = time.monotonic()
        samples: dict[str, list[int]] = {name: [] for name in started}
        baseline: dict[str, int] = {}
        midway: dict[str, int] = {}
        while shoppers.poll() is None:
            for name, child in started.items():
                samples[name].append(resident(child))
            elapsed = time.monotonic() - began
            if not baseline and elapsed >= args.warmup:
                baseline = {name: values[-1] for name, values in samples.items()}
            if not midway and elapsed >= args.warmup + args.seconds / 2:
                midway = {name: values[-1] for name, values in samples.items()}
            time.sleep(2)
        final = {name: resident(child) for name, child in started.items()}
        summary = requests_summary(out)
        # The shoppers have stopped: every saga finishes, every event reaches analytics.
        deadline = time.monotonic() + args.settle
        while True:
            figures = books(databases, env["STRIPE_API_BASE"])
            unbalanced = balanced(figures)
            if not unbalanced or time.monotonic() > deadline:
                break
            time.sleep(1)
        exited = [name for name, child in started.items() if child.poll() is not None]
    memory = {
        name: {
            "after_warmup_mb": baseline.get(name, 0) / 2**20,
            "midway_mb": midway.get(name, 0) / 2**20,
            "end_mb": final[name] / 2**20,
            "peak_mb": max(samples[name] or [0]) / 2**20,
            "change": (final[name] - baseline[name]) / baseline[name] if baseline.get(name) else 0,
        }
        for name in started
    }
    grown = [
        n for n, m in memory.items() if n not in STAND_INS and abs(m["change"]) > MEMORY_TOLERANCE
    ]
    return {
        "phase": phase,
        "summary": summary,
        "books": figures,
        "unbalanced": unbalanced,
        "memory": memory,
        "memory_outside": grown,
        "exited": exited,
        "ok": not (summary["server_errors"] or unbalanced or grown or exited),
    }


def run_against(url: str, args) -> bool:
    """Locust against a platform this run did not start: its databases and processes are not
    ours to read, so only the answers are checked."""
    with tempfile.TemporaryDirectory(prefix="load-url-") as workdir:
        out = Path(workdir) / "locust"
        locust(url.rstrip("/"), args, out).wait()
        s = requests_summary(out)
    print(f"\n== {url}: {args.users} shoppers, {args.warmup + args.seconds:.0f} s ==")
    print(f"requests {s['requests']} ({s['per_second']:.1f}/s), p50 {s['p50_ms']:.0f} ms, "
          f"p95 {s['p95_ms']:.0f} ms; server errors {s['server_errors']}, other unexpected "
          f"answers {s['failures'] - s['server_errors']}")  # fmt: skip
    for error, count in s["errors"].items():
        print(f"  {count:5d}  {error}")
    return not s["server_errors"]


def report(result: dict, args) -> None:
    s, b = result["summary"], result["books"]
    tls = ", gRPC over mutual TLS" if args.grpc_tls else ""
    print(f"\n== phase {result['phase']}{tls}: {args.users} shoppers, {args.warmup:.0f} s "
          f"warm-up + {args.seconds:.0f} s ==")  # fmt: skip
    print(f"requests {s['requests']} ({s['per_second']:.1f}/s), p50 {s['p50_ms']:.0f} ms, "
          f"p95 {s['p95_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms; checkouts sent {s['checkouts']}")  # fmt: skip
    print(f"server errors (5xx, refused) {s['server_errors']}; other unexpected answers "
          f"{s['failures'] - s['server_errors']}")  # fmt: skip
    for error, count in s["errors"].items():
        print(f"  {count:5d}  {error}")
    print(f"orders {b['orders']} (completed {b.get('orders_completed', 0)}, failed "
          f"{b.get('orders_failed', 0)}, pending {b.get('orders_pending', 0)}); payments "
          f"{b['payments']} (succeeded {b.get('payments_succeeded', 0)}, declined "
          f"{b.get('payments_declined', 0)}); Stripe charges succeeded {b['stripe_succeeded']}, "
          f"declined {b['stripe_declined']}; analytics created {b['analytics_created']}, completed "
          f"{b['analytics_completed']}, failed {b['analytics_failed']}, paid {b['analytics_paid']}, "
          f"declined {b['analytics_declined']}")  # fmt: skip
    print("books: " + ("balanced" if not result["unbalanced"] else "; ".join(result["unbalanced"])))
    print(f"{'process':<20} {'after warm-up MB':>17} {'midway MB':>10} {'end MB':>8} "
          f"{'peak MB':>8} {'change':>7}")  # fmt: skip
    for name, m in result["memory"].items():
        print(f"{name:<20} {m['after_warmup_mb']:>17.1f} {m['midway_mb']:>10.1f} "
              f"{m['end_mb']:>8.1f} {m['peak_mb']:>8.1f} {m['change']:>+7.1%}")  # fmt: skip
    if result["exited"]:
        print(f"exited during the run: {', '.join(result['exited'])}")
    print(f"phase {result['phase']}: {'PASS' if result['ok'] else 'FAIL'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="0,3")
    parser.add_argument("--seconds", type=float, default=60, help="measured, after the warm-up")
    parser.add_argument("--warmup", type=float, default=30)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--spawn-rate", type=float, default=2)
    parser.add_argument("--settle", type=float, default=90, help="for sagas and events to end")
    parser.add_argument("--port-base", type=int, default=0, help="ports from here up (0: any)")
    parser.add_argument(
        "--grpc-tls", action="store_true", help="gRPC over mutual TLS (a CA made for the run)"
    )
    parser.add_argument("--locust-args", default="", help="more options for locust")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"),
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("LOAD_URL", ""),
        help="a platform already running: only its answers are checked (no books, no memory)",
    )
    args = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    if args.url:
        sys.exit(0 if run_against(args.url, args) else 1)
    results = []
    for phase in args.phases.split(","):
        with (
            tempfile.TemporaryDirectory(prefix=f"load-phase{phase}-") as workdir,
            scratch_databases(args.postgres) as databases,
        ):
            results.append(run_phase(phase, databases, args, Path(workdir)))
            report(results[-1], args)
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
