"""What the per-request metrics cost: one counter increment, one histogram observation, and the
wrapper `ecommerce/wiring/resolver.py` puts around each method of every adapter it hands out
(`port_call_duration_seconds{service,method,transport}`).

The wrapped method does nothing, so the difference between a wrapped and a bare call is the
wrapper alone: two `perf_counter` reads, a `try`/`finally` and one histogram observation. Each
runs in two child processes: prometheus_client in a single process, and in multiprocess mode (a
`PROMETHEUS_MULTIPROC_DIR`, as under gunicorn and the Celery workers), where an update writes to
a memory-mapped file. The rounds interleave the operations and the median is kept; each figure
is the process's CPU time per operation, so other work on the machine does not inflate it the
way a wall clock would.

    python -m benchmarks.port_timing [--calls 200000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from time import process_time

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ("bare call", "timed call", "counter inc", "histogram observe")


def measure(calls: int, rounds: int) -> dict[str, float]:
    """In this process: CPU ns per operation, median of `rounds`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.test")
    import django

    django.setup()
    from prometheus_client import Counter, Histogram

    from ecommerce.wiring.resolver import IN_PROCESS, PORT_CALL_DURATION, _timed_method

    class Adapter:
        def get(self, product_id: int) -> int:
            return product_id

    observe = PORT_CALL_DURATION.labels("bench", "get", IN_PROCESS).observe
    timed = type("Adapter", (Adapter,), {"get": _timed_method(Adapter.get, observe)})
    counter = Counter("bench_operations", "One labelled counter.", ["kind"]).labels("a")
    histogram = Histogram("bench_seconds", "One labelled histogram.", ["kind"]).labels("a")
    operations: dict[str, Callable[[int], object]] = {
        "bare call": Adapter().get,
        "timed call": timed().get,
        "counter inc": lambda i: counter.inc(),
        "histogram observe": lambda i: histogram.observe(0.0012),
    }
    empty = lambda i: None  # noqa: E731  the loop and a call, taken off the two metric rows
    samples: dict[str, list[float]] = {name: [] for name in (*OPERATIONS, "empty")}
    for _ in range(rounds):
        for name, operation in (*operations.items(), ("empty", empty)):
            started = process_time()
            for i in range(calls):
                operation(i)
            samples[name].append((process_time() - started) / calls * 1e9)
    median = {name: statistics.median(values) for name, values in samples.items()}
    for name in ("counter inc", "histogram observe"):
        median[name] -= median["empty"]
    return median


def child(calls: int, rounds: int, multiprocess: bool) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory(prefix="port-timing-") as directory:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        else:
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.port_timing", "--child",
             "--calls", str(calls), "--rounds", str(rounds)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.calls, args.rounds)))
        return
    print(f"{args.calls:,} of each a round, {args.rounds} rounds, median CPU ns an operation; "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'prometheus_client':<18} {'':>1}" + "".join(f"{name:>19}" for name in OPERATIONS)
          + f"{'wrapper':>10}")  # fmt: skip
    for label, multiprocess in (("single process", False), ("multiprocess", True)):
        figures = child(args.calls, args.rounds, multiprocess)
        wrapper = figures["timed call"] - figures["bare call"]
        cells = "".join(f"{figures[name]:>19.0f}" for name in OPERATIONS)
        print(f"{label:<18}  {cells}{wrapper:>10.0f}")


if __name__ == "__main__":
    main()
