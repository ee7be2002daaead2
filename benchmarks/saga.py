"""Checkout saga benchmark: checkout-to-terminal latency and sagas per second, phase 0.

Runs the real platform in services mode: gunicorn for the REST API, a Celery worker on
RabbitMQ, PostgreSQL (a scratch database, every alias in its own schema, dropped afterwards),
Redis, and the local Stripe-compatible server. Shoppers are client threads; each fills its cart,
checks out through the API and waits for its order to end, then goes again. Concurrency is
the number of shoppers, so the number of sagas in flight.

Latency is measured by the order database itself: from the order's creation (the moment the
checkout committed) to the saga's last recorded step. Throughput counts sagas that ended inside
the measured window. The profile is the mean time of each step as the saga recorded it.

The floor (`benchmarks.saga_floor`) runs in the same processes: a checkout with the mandated
components only (two authenticated requests, three late-acked messages over two queues, one
PaymentIntent through the SDK, one commit per step record) and no domain work. CPU per saga
is read from /proc for each process over each measured window. Last, the SQL statements of
one checkout are counted, by database and stage (`benchmarks.saga_statements`).

    python -m benchmarks.saga [--seconds 10] [--levels 1,16,64] [--floor-levels 1,64]
    python -m benchmarks.saga --floor            # the floor alone
    python -m benchmarks.saga --levels '' --floor-levels ''   # statement counts alone
    python -m benchmarks.saga --levels '' --floor-levels '' --sql   # and each statement
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from benchmarks.catalogue import free_port, scratch_database

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path):
    with open(log, "wb") as out:
        child = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield child
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
                try:
                    child.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()


def wait_for(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up in {timeout}s")
        time.sleep(0.1)


def http_ok(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False


def worker_answers(env: dict[str, str]) -> bool:
    ping = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "ecommerce", "inspect", "ping", "-t", "1",
         "-d", f"bench-{os.getpid()}@{socket.gethostname()}"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    return ping.returncode == 0 and "pong" in ping.stdout


class Api:
    """One keep-alive HTTP connection per shopper."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict, **headers: str) -> tuple[int, dict]:
        self.connection.request("POST", path, json.dumps(body), {**self.headers, **headers})
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")


@dataclass(frozen=True)
class Flow:
    """One way through a checkout: the two requests, and where its orders end."""

    name: str
    cart_path: str
    checkout_path: str
    orders: str  # the table whose rows leave PENDING when their saga ends
    outcomes: str  # status, created and ended (epoch seconds) of the orders in %s
    steps: str | None = None  # mean ms per recorded step of the orders in %s created after %s


CHECKOUT = Flow(
    name="checkout",
    cart_path="/api/cart/items",
    checkout_path="/api/checkout",
    orders='"order".order_order',
    outcomes="""
        SELECT o.status, EXTRACT(EPOCH FROM o.created_at), EXTRACT(EPOCH FROM s.finished_at)
        FROM "order".order_order o JOIN "order".order_checkoutsaga s ON s.order_id = o.id
        WHERE o.id = ANY(%s)
    """,
    steps="""
        SELECT st.name, AVG(EXTRACT(EPOCH FROM st.finished_at - st.started_at)) * 1000
        FROM "order".order_sagastep st JOIN "order".order_checkoutsaga s ON s.id = st.saga_id
        WHERE s.order_id = ANY(%(ids)s) AND EXTRACT(EPOCH FROM s.created_at) >= %(since)s
        GROUP BY st.name
        UNION ALL
        SELECT 'queued', AVG(EXTRACT(EPOCH FROM st.started_at - s.created_at)) * 1000
        FROM "order".order_sagastep st JOIN "order".order_checkoutsaga s ON s.id = st.saga_id
        WHERE s.order_id = ANY(%(ids)s) AND EXTRACT(EPOCH FROM s.created_at) >= %(since)s
          AND st.name = 'reserve_cart'
    """,
)

FLOOR = Flow(
    name="floor",
    cart_path="/bench/saga-floor/cart",
    checkout_path="/bench/saga-floor/checkout",
    orders="bench.floor_order",
    outcomes="""
        SELECT status, EXTRACT(EPOCH FROM created_at), EXTRACT(EPOCH FROM finished_at)
        FROM bench.floor_order WHERE id = ANY(%s)
    """,
)

# The floor's rows; `benchmarks.saga_floor` writes them.
FLOOR_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS bench;
CREATE TABLE IF NOT EXISTS bench.floor_cart (
    user_id bigint PRIMARY KEY,
    quantity integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bench.floor_order (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    status text NOT NULL DEFAULT 'PENDING',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz
);
CREATE TABLE IF NOT EXISTS bench.floor_step (
    order_id bigint NOT NULL,
    name text NOT NULL,
    status text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (order_id, name)
);
"""


class CpuMeter:
    """CPU seconds used by each process group of the run over a window, read from /proc.

    A group is a session we started (gunicorn, the worker, the Stripe server: each child and
    all its processes), a program by name (PostgreSQL's backends, RabbitMQ's Erlang VM), or
    the load generator (this process and the database session that watches for ended orders).
    Processes come and go (a database connection is recycled after CONN_MAX_AGE), so each is
    followed by its pid and read every `every` seconds: one that ends between two readings
    loses at most that much. `machine` is every core's busy time, so what none of the groups
    used shows as `other`.
    """

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, sessions: dict[str, int], programs: dict[str, tuple[str, ...]]) -> None:
        self.sessions = {sid: name for name, sid in sessions.items()}
        self.programs = {comm: name for name, comms in programs.items() for comm in comms}
        self.groups = [*sessions, *programs, "load"]
        self.load_pids = {os.getpid()}

    def _read(self) -> tuple[dict[int, tuple[str, float]], float]:
        seen = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    line = stat.read()
            except OSError:
                continue  # it ended meanwhile
            pid = int(entry.name)
            comm = line[line.index("(") + 1 : line.rindex(")")]
            fields = line[line.rindex(")") + 2 :].split()
            session, ticks = int(fields[3]), int(fields[11]) + int(fields[12])
            name = (
                "load"
                if pid in self.load_pids
                else self.sessions.get(session) or self.programs.get(comm)
            )
            if name is not None:
                seen[pid] = (name, ticks / self.TICK)
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
        return seen, (sum(ticks[:8]) - ticks[3] - ticks[4]) / self.TICK  # less idle, iowait

    def measure(self, until: float, every: float = 0.25) -> dict[str, float]:
        """CPU seconds per group from now until `until` (time.monotonic())."""
        used = dict.fromkeys(self.groups, 0.0)
        last, machine_start = self._read()
        machine = machine_start
        while True:
            now = time.monotonic()
            if now >= until:
                break
            time.sleep(min(every, until - now))
            seen, machine = self._read()
            for pid, (name, seconds) in seen.items():
                # A process new since the last reading started inside the window.
                used[name] += seconds - (last[pid][1] if pid in last else 0.0)
            last = seen
        used["machine"] = machine - machine_start
        return used


@dataclass
class Watcher:
    """Polls the order database for orders that ended and wakes their shoppers."""

    dsn: str
    # Phase 0 keeps every alias in a schema of one database; from phase 1 on, order has its own.
    table: str = '"order".order_order'
    waiting: dict[int, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    connected: threading.Event = field(default_factory=threading.Event)
    backend_pid: int = 0

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            self.backend_pid = connection.info.backend_pid
            self.connected.set()
            while not self.stop.is_set():
                with self.lock:
                    ids = list(self.waiting)
                if ids:
                    rows = connection.execute(
                        f"SELECT id FROM {self.table} WHERE id = ANY(%s) AND status <> 'PENDING'",
                        [ids],
                    ).fetchall()
                    with self.lock:
                        for (order_id,) in rows:
                            self.waiting.pop(order_id).set()
                time.sleep(0.002)

    def expect(self, order_id: int) -> threading.Event:
        event = threading.Event()
        with self.lock:
            self.waiting[order_id] = event
        return event


def shopper(
    flow: Flow,
    port: int,
    token: str,
    product_id: int,
    watcher: Watcher,
    until: float,
    placed: list,
) -> None:
    api = Api(port, token)
    serial = 0
    while time.monotonic() < until:
        serial += 1
        status, _ = api.post(flow.cart_path, {"product_id": product_id, "quantity": 1})
        if status != 201:
            raise RuntimeError(f"cart add answered {status}")
        status, body = api.post(
            flow.checkout_path,
            {"payment_method": "pm_card_visa"},
            **{"Idempotency-Key": f"{token[:8]}-{serial}-{time.monotonic_ns()}"},
        )
        if status != 201:
            raise RuntimeError(f"checkout answered {status}: {body}")
        done = watcher.expect(body["order_id"])
        placed.append(body["order_id"])
        if not done.wait(timeout=60):
            raise RuntimeError(f"order {body['order_id']} did not end in 60s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(flow: Flow, dsn: str, level: int, args, port: int, users: list, cpu: CpuMeter) -> dict:
    watcher = Watcher(dsn, table=flow.orders)
    polling = threading.Thread(target=watcher.run, daemon=True)
    polling.start()
    watcher.connected.wait(10)
    cpu.load_pids = {os.getpid(), watcher.backend_pid}
    placed: list[int] = []
    window_start = time.monotonic() + args.warmup
    until = window_start + args.seconds
    threads = [
        threading.Thread(target=shopper, args=(flow, port, token, product, watcher, until, placed))
        for token, product in users[:level]
    ]
    wall_start = time.time()
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, window_start - time.monotonic()))
    used = cpu.measure(until)
    for thread in threads:
        thread.join()
    watcher.stop.set()
    polling.join()
    measured_from = wall_start + args.warmup
    measured_to = measured_from + args.seconds
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(flow.outcomes, [placed]).fetchall()
        steps = (
            connection.execute(flow.steps, {"ids": placed, "since": measured_from}).fetchall()
            if flow.steps
            else []
        )
    in_window = [
        (status, float(created), float(finished))
        for status, created, finished in rows
        if finished is not None and measured_from <= float(finished) <= measured_to
    ]
    latencies = [(finished - created) * 1000 for _, created, finished in in_window]
    return {
        "flow": flow.name,
        "concurrency": level,
        "sagas": len(in_window),
        "failed": sum(1 for status, _, _ in in_window if status != "COMPLETED"),
        "per_second": len(in_window) / args.seconds,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "steps": {name: float(ms) for name, ms in steps},
        "cpu": used,
    }


def print_cpu(results: list[dict], groups: list[str], seconds: float) -> None:
    print(
        "\nCPU per saga, ms, by process (/proc, over each measured window); busy = all cores'"
        " busy time / window, in % of one core"
    )
    columns = [*groups, "other", "total"]
    print(
        f"{'flow':>8} {'in flight':>9} " + " ".join(f"{n:>9}" for n in columns) + f"{'busy %':>8}"
    )
    for result in results:
        used, sagas = result["cpu"], max(1, result["sagas"])
        per_saga = {name: used[name] * 1000 / sagas for name in groups}
        per_saga["total"] = used["machine"] * 1000 / sagas
        per_saga["other"] = per_saga["total"] - sum(per_saga[name] for name in groups)
        print(
            f"{result['flow']:>8} {result['concurrency']:>9} "
            + " ".join(f"{per_saga[n]:>9.1f}" for n in columns)
            + f"{used['machine'] / seconds * 100:>8.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=10, help="measured, per level (default 10)"
    )
    parser.add_argument("--warmup", type=float, default=3, help="discarded, per level (default 3)")
    parser.add_argument("--levels", default="1,16,64", help="shoppers in flight (default 1,16,64)")
    parser.add_argument(
        "--floor-levels", default="1,64", help="floor sagas in flight (default 1,64; '' for none)"
    )
    parser.add_argument("--floor", action="store_true", help="measure the floor alone")
    parser.add_argument("--worker-concurrency", type=int, default=4, help="Celery processes")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--sql", action="store_true", help="also print each counted statement, by stage and alias"
    )
    args = parser.parse_args()
    levels = [] if args.floor else [int(n) for n in args.levels.split(",") if n]
    floor_levels = [int(n) for n in args.floor_levels.split(",") if n]

    postgres = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    broker = os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    workdir = Path(tempfile.mkdtemp(prefix="saga-bench-"))
    with ExitStack() as stack:
        database = stack.enter_context(scratch_database(postgres))
        stripe_port, web_port = free_port(), free_port()
        env = dict(
            os.environ,
            ECOMMERCE_MODE="services",
            DJANGO_SETTINGS_MODULE="benchmarks.settings",
            DATABASE_URL=database,
            REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
            CACHE_KEY_PREFIX=f"sagabench{os.getpid()}",
            CELERY_BROKER_URL=broker,
            STRIPE_API_BASE=f"http://127.0.0.1:{stripe_port}",
            STRIPE_SECRET_KEY="sk_test_bench",
            KAFKA_BOOTSTRAP_SERVERS="",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate_all", "-v0"], cwd=ROOT, env=env, check=True)
        users = json.loads(
            subprocess.run(
                [*manage, "shell", "-c", SEED.format(users=max(levels + floor_levels, default=1))],
                cwd=ROOT, env=env, check=True, capture_output=True, text=True,
            ).stdout.strip().splitlines()[-1]
        )  # fmt: skip
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute(FLOOR_SCHEMA)
        subprocess.run(
            [sys.executable, "-m", "celery", "-A", "ecommerce", "purge", "-f", "-Q", "order,cart"],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        stripe_server = stack.enter_context(
            process(
                [sys.executable, "-m", "stripe_local", "--port", str(stripe_port)],
                env,
                workdir / "stripe.log",
            )
        )
        worker = stack.enter_context(
            process(
                [
                    sys.executable, "-m", "celery", "-A", "ecommerce", "worker", "-l", os.environ.get("BENCH_WORKER_LOG_LEVEL", "WARNING"),
                    "-c", str(args.worker_concurrency), "--without-gossip", "--without-mingle",
                    "--include", "benchmarks.saga_floor",
                    "-n", f"bench-{os.getpid()}@%h",
                ],
                env,
                workdir / "worker.log",
            )
        )  # fmt: skip
        web = stack.enter_context(
            process(
                [
                    sys.executable, "-m", "gunicorn", "ecommerce.wsgi:application",
                    "--bind", f"127.0.0.1:{web_port}", "--workers", str(args.web_workers),
                    "--no-control-socket",
                ],
                env,
                workdir / "web.log",
            )
        )  # fmt: skip
        wait_for(lambda: http_ok(web_port, "/healthz"), "gunicorn")
        wait_for(lambda: worker_answers(env), "the Celery worker")

        print(
            f"checkout saga, phase 0, services mode: {platform.node()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; worker -c {args.worker_concurrency} (prefork), "
            f"gunicorn --workers {args.web_workers}; {args.seconds:.0f}s measured per level "
            f"after {args.warmup:.0f}s warm-up",
            flush=True,
        )
        cpu = CpuMeter(
            {"worker": worker.pid, "gunicorn": web.pid, "stripe": stripe_server.pid},
            {"postgres": ("postgres",), "rabbitmq": ("beam.smp",)},
        )
        header = (
            f"{'flow':>8} {'in flight':>9} {'sagas':>6} {'failed':>6} {'sagas/s':>8} "
            f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
        )
        print(header)
        results = []
        for flow, flow_levels in ((CHECKOUT, levels), (FLOOR, floor_levels)):
            for level in flow_levels:
                result = measure(flow, database, level, args, web_port, users, cpu)
                results.append(result)
                print(
                    f"{flow.name:>8} {level:>9} {result['sagas']:>6} {result['failed']:>6} "
                    f"{result['per_second']:>8.1f} {result['p50']:>8.1f} {result['p95']:>8.1f} "
                    f"{result['p99']:>8.1f}",
                    flush=True,
                )
        checkouts = [r for r in results if r["flow"] == CHECKOUT.name]
        if checkouts:
            print(
                "\nwhere the time goes, ms: queued = checkout committed -> first step started;"
                " then each step's mean recorded duration"
            )
            names = ["queued", "reserve_cart", "hold_stock", "charge_payment", "commit"]
            print(f"{'in flight':>9} " + " ".join(f"{n:>15}" for n in names))
            for result in checkouts:
                print(
                    f"{result['concurrency']:>9} "
                    + " ".join(f"{result['steps'].get(n, float('nan')):>15.1f}" for n in names)
                )
        if results:
            print_cpu(results, cpu.groups, args.seconds)
        print("\nSQL statements of one checkout (benchmarks/saga_statements.py)", flush=True)
        token, product = users[0]
        subprocess.run(
            [sys.executable, "-m", "benchmarks.saga_statements", token, str(product),
             *(["--sql"] if args.sql else [])],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        print(f"\nlogs: {workdir}")


SEED = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from apps.product.models import Product
User = get_user_model()
users = []
for n in range({users}):
    user = User.objects.create_user(username=f"shopper{{n}}", password="bench-password-1")
    product = Product.objects.create(sku=f"BENCH-{{n}}", name=f"Bench item {{n}}", price=1000, stock=1_000_000)
    users.append((Token.objects.create(user=user).key, product.pk))
print(json.dumps(users))
"""


if __name__ == "__main__":
    main()
