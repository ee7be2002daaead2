"""Each process's health, probed from the edge with short timeouts: a process that does not
answer is reported down, and the console still renders."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from ecommerce.api import health as edge_health
from ecommerce.console.graph import MONOLITH, Topology

TIMEOUT_SECONDS = 0.8


def _probe(url: str) -> dict:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read(20_000)
            status = response.status
    except urllib.error.HTTPError as exc:  # 503 not ready: it answered
        body, status = exc.read(20_000), exc.code
    except (OSError, ValueError) as exc:
        return {"state": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}
    ms = round((time.perf_counter() - started) * 1000, 1)
    try:
        payload = json.loads(body)
    except ValueError:
        payload = {}
    state = "up" if status == 200 else "not_ready"
    return {"state": state, "status": status, "ms": ms, "detail": payload}


def _edge(request) -> dict:
    started = time.perf_counter()
    response = edge_health.readyz(request)
    payload = json.loads(response.content)
    return {
        "state": "up" if response.status_code == 200 else "not_ready",
        "status": response.status_code,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "detail": payload,
    }


def check(topology: Topology, request) -> dict[str, dict]:
    """{process name: {"state": "up" | "not_ready" | "down", ...}}, all probed at once."""
    remote = [p for p in topology.processes if p.name != MONOLITH and p.health_url]
    with ThreadPoolExecutor(max_workers=max(1, len(remote))) as pool:
        futures = {p.name: pool.submit(_probe, p.health_url) for p in remote}
        results = {MONOLITH: _edge(request)}
        results.update({name: future.result() for name, future in futures.items()})
    return results
