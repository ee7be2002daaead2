"""What the gRPC benchmarks share: a migrated scratch database this process is set up on, and a
real `manage.py serve product` on it, answering health checks."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scratch_setup(stack: ExitStack, **extra: str) -> dict[str, str]:
    """A scratch database (dropped when `stack` closes), migrated, with Django set up in this
    process on phase 0's services settings plus `extra`; the environment a server needs too."""
    from benchmarks.saga import scratch_database

    postgres = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    env = dict(
        os.environ,
        ECOMMERCE_MODE="services",
        DJANGO_SETTINGS_MODULE="settings.services",
        DATABASE_URL=stack.enter_context(scratch_database(postgres)),
        PHASE="0",
        EXTRACTED="",
        KAFKA_BOOTSTRAP_SERVERS="",
        LOG_LEVEL="WARNING",
        **extra,
    )
    os.environ.update(env)
    subprocess.run(
        [sys.executable, "manage.py", "migrate_all", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    import django

    django.setup()
    return env


def serve_product(stack: ExitStack, env: dict[str, str], **extra: str) -> int:
    """Start `manage.py serve product` (stopped when `stack` closes); its gRPC port once healthy."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from benchmarks.saga import free_port, wait_for

    port = free_port()
    serve_log = stack.enter_context(open(os.devnull, "wb"))  # noqa: SIM115
    served = subprocess.Popen(
        [
            sys.executable, "manage.py", "serve", "product", "--no-worker",
            "--grpc-port", str(port), "--http-port", str(free_port()),
        ],
        cwd=ROOT,
        env=dict(env, ECOMMERCE_SERVES="product", **extra),
        stdout=serve_log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    stack.callback(lambda: (served.terminate(), served.wait(15)))

    def healthy() -> bool:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                stub = health_pb2_grpc.HealthStub(channel)
                return stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1
            except grpc.RpcError:
                return False

    wait_for(healthy, "serve product")
    return port
