"""Traced processes for the trace tests: each one the command a deployment runs (gunicorn, a
Celery worker, `manage.py relay_outbox`, `manage.py consume_analytics`), exporting over OTLP to
a receiver the test runs. The test process itself installs no tracing: nothing global changes
for the tests that run after these."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.fixtures.kafka import kafka_bootstrap, kafka_topics  # noqa: F401
from tests.fixtures.otlp import otlp_receiver  # noqa: F401
from tests.fixtures.remote_phase import remote_phase, restart_services_with, restore_services
from tests.fixtures.services import free_port
from tests.fixtures.web import gunicorn_command
from tests.fixtures.worker import ROOT, process_env
from tests.saga.conftest import clean_broker, start_worker  # noqa: F401


class Process:
    """One subprocess, its output in a file; stopped with SIGTERM like a supervisor would."""

    def __init__(self, name: str, argv: list[str], *, log_dir: Path, env: dict[str, str]):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no {text!r} after {timeout}s:\n{self.log()}")
            time.sleep(0.1)

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Edge(Process):
    """gunicorn serving the project's WSGI app, as the Procfiles run it."""

    def __init__(self, *, log_dir: Path, env: dict[str, str]):
        self.port = free_port()
        super().__init__(
            "edge",
            gunicorn_command(self.port, workers=1, access_log=True),
            log_dir=log_dir,
            env=env,
        )

    def wait_ready(self, timeout: float = 60) -> Edge:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not come up:\n{self.log()[-3000:]}") from None
                time.sleep(0.1)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict]:
        request = urllib.request.Request(self.url(path), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def post(self, path: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.url(path),
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)


@pytest.fixture
def traced(tmp_path, otlp_receiver, local_stripe):  # noqa: F811
    """Start traced processes: `traced.edge(protocol)`, `traced.manage(name, *args, ...)`;
    each exports to the receiver; all are stopped at the end."""
    started: list[Process] = []
    restarted: list = []

    class Start:
        @staticmethod
        def env(protocol: str = "grpc", **extra: str) -> dict[str, str]:
            return process_env(
                **otlp_receiver.env(protocol),
                KAFKA_BOOTSTRAP_SERVERS=settings.KAFKA_BOOTSTRAP_SERVERS,
                KAFKA_TOPIC_PREFIX=settings.KAFKA_TOPIC_PREFIX,
                ANALYTICS_CONSUMER_GROUP=settings.ANALYTICS_CONSUMER_GROUP,
                LOG_FORMAT="json",
                LOG_LEVEL="INFO",
                **extra,
            )

        @staticmethod
        def services(protocol: str = "grpc") -> None:
            """In a remote phase, the `serve` processes export too (restarted for it)."""
            if remote_phase() is not None:
                restarted.extend(restart_services_with(otlp_receiver.env(protocol)))

        @staticmethod
        def edge(protocol: str = "grpc") -> Edge:
            Start.services(protocol)
            edge = Edge(log_dir=tmp_path, env=Start.env(protocol))
            started.append(edge)
            return edge.wait_ready()

        @staticmethod
        def manage(name: str, *args: str, ready: str, protocol: str = "grpc") -> Process:
            process = Process(
                name,
                [sys.executable, str(ROOT / "manage.py"), *args],
                log_dir=tmp_path,
                env=Start.env(protocol),
            )
            started.append(process)
            process.wait_for_line(ready)
            return process

    yield Start
    for process in started:
        process.stop()
    restore_services(restarted)
