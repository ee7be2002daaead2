"""What a phase costs, read from the platform's own Prometheus metrics: the edge's (this
process's registry) and each `serve` process's /metrics, fetched with a short timeout."""

from __future__ import annotations

import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ecommerce.console.graph import MONOLITH, Topology

TIMEOUT_SECONDS = 0.8


def _samples(text: str) -> list[tuple[str, dict, float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def _fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.read().decode()
    except (OSError, ValueError):
        return None


def _latency(samples, name: str, keys: tuple[str, ...]) -> list[dict]:
    """Calls and mean latency of a histogram, by the given labels."""
    totals: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for sample, labels, value in samples:
        if sample == f"{name}_count":
            totals[tuple(labels.get(k, "") for k in keys)][0] += value
        elif sample == f"{name}_sum":
            totals[tuple(labels.get(k, "") for k in keys)][1] += value
    return [
        {**dict(zip(keys, key, strict=True)), "count": int(n), "mean_ms": round(s / n * 1000, 2)}
        for key, (n, s) in sorted(totals.items())
        if n
    ]


def _process(samples) -> dict:
    requests = sum(v for n, _, v in samples if n == "django_http_requests_total_by_method_total")
    lookups: dict[str, float] = defaultdict(float)
    for name, labels, value in samples:
        if name == "catalogue_cache_lookups_total":
            lookups[f"{labels['tier']}:{labels['result']}"] += value
    hits = lookups["local:hit"] + lookups["redis:hit"]
    # A lookup that misses the memory tier goes on to Redis: each read is one local lookup,
    # or one Redis lookup where the memory tier is off.
    reads = lookups["local:hit"] + lookups["redis:hit"] + lookups["redis:miss"]
    return {
        "http_requests": int(requests),
        "views": _latency(
            samples, "django_http_requests_latency_seconds_by_view_method", ("view", "method")
        ),
        "grpc_client": _latency(
            samples, "grpc_client_handling_seconds", ("grpc_service", "grpc_method")
        ),
        "grpc_server": _latency(
            samples, "grpc_server_handling_seconds", ("grpc_service", "grpc_method")
        ),
        "catalogue_cache": {
            "lookups": {k: int(v) for k, v in sorted(lookups.items())},
            "hit_ratio": round(hits / reads, 3) if reads else None,
        },
    }


def collect(topology: Topology) -> dict[str, dict]:
    """{process: figures, or {"down": True} when its /metrics does not answer}."""
    remote = [p for p in topology.processes if p.name != MONOLITH and p.metrics_url]
    results = {MONOLITH: _process(_samples(generate_latest(REGISTRY).decode()))}
    with ThreadPoolExecutor(max_workers=max(1, len(remote))) as pool:
        texts = {p.name: pool.submit(_fetch, p.metrics_url) for p in remote}
        for name, future in texts.items():
            text = future.result()
            results[name] = {"down": True} if text is None else _process(_samples(text))
    return results
