"""What a phase costs, read from the platform's own Prometheus metrics: the edge's (this
process's registry: every web worker's in multiprocess mode), each `serve` process's and each
Celery worker's /metrics, fetched at once with a short timeout."""

from __future__ import annotations

import math
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ecommerce.console.graph import MONOLITH, Topology
from ecommerce.observability import metrics
from ecommerce.wiring import cutover

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


def _quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The q-quantile of a histogram from its cumulative buckets [(le, count)], interpolated
    linearly inside the bucket it falls in, as Prometheus' histogram_quantile does."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):  # beyond the last finite bucket: its bound is all we know
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def _distribution(samples, name: str, keys: tuple[str, ...], match=None) -> list[dict]:
    """Count, mean, p50 and p95 (ms) of a histogram summed over every process, by `keys`;
    `match(labels)` keeps only some series."""
    counts: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
    buckets: dict[tuple, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for sample, labels, value in samples:
        if not sample.startswith(name) or (match and not match(labels)):
            continue
        key = tuple(labels.get(k, "") for k in keys)
        if sample == f"{name}_count":
            counts[key][0] += value
        elif sample == f"{name}_sum":
            counts[key][1] += value
        elif sample == f"{name}_bucket":
            buckets[key][float(labels["le"])] += value

    def ms(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds * 1000, 1)

    return [
        {
            **dict(zip(keys, key, strict=True)),
            "count": int(n),
            "mean_ms": ms(total / n),
            "p50_ms": ms(_quantile(0.5, list(buckets[key].items()))),
            "p95_ms": ms(_quantile(0.95, list(buckets[key].items()))),
        }
        for key, (n, total) in sorted(counts.items())
        if n
    ]


def _sagas(samples) -> dict:
    """The checkout saga across the processes that count it: the edge (or the order service)
    counts the sagas started, the worker that drives them how they ended and how long they and
    their steps took."""
    started = completed = 0.0
    failed: dict[str, float] = defaultdict(float)
    for name, labels, value in samples:
        if name == "saga_started_total":
            started += value
        elif name == "saga_completed_total":
            completed += value
        elif name == "saga_failed_total":
            failed[labels.get("reason", "unknown")] += value
    return {
        "started": int(started),
        "completed": int(completed),
        "failed": [{"reason": r, "count": int(n)} for r, n in sorted(failed.items()) if n],
        "duration": _distribution(samples, "saga_duration_seconds", ("outcome",)),
        "steps": _distribution(samples, "saga_step_duration_seconds", ("step", "outcome")),
        "compensations": _distribution(
            samples, "saga_compensation_duration_seconds", ("step", "outcome")
        ),
    }


def _checkout(samples) -> dict | None:
    """POST /api/checkout at the edge: the answer (201, the order PENDING), not the saga."""
    [row] = _distribution(
        samples,
        "django_http_requests_latency_seconds_by_view_method",
        ("view",),
        lambda labels: labels.get("view") == "checkout" and labels.get("method") == "POST",
    ) or [None]
    return row


# The parallel run's counters (ecommerce/wiring/shadow.py), by service and operation.
SHADOW_COUNTERS = {
    "shadow_calls_total": "calls",
    "shadow_mismatches_total": "mismatches",
    "shadow_errors_total": "errors",
    "shadow_dropped_total": "dropped",
}


def _parallel_run(samples) -> dict:
    """The shadow's comparisons per service and operation, and the cut-over's calls per service
    and adapter with the share in force, summed over the processes that make them (the edge and
    the worker)."""
    compared: dict[tuple, dict[str, float]] = defaultdict(
        lambda: dict.fromkeys(SHADOW_COUNTERS.values(), 0.0)
    )
    routed: dict[str, dict[str, float]] = defaultdict(lambda: {"local": 0.0, "remote": 0.0})
    for name, labels, value in samples:
        if name in SHADOW_COUNTERS:
            compared[(labels["service"], labels["operation"])][SHADOW_COUNTERS[name]] += value
        elif name == "cutover_calls_total":
            routed[labels["service"]][labels["adapter"]] += value
    remote = {
        (row["service"], row["operation"]): row
        for row in _distribution(
            samples, "shadow_remote_duration_seconds", ("service", "operation")
        )
    }
    shadow = [
        {"service": service, "operation": operation}
        | {k: int(v) for k, v in counts.items()}
        | {
            "remote_mean_ms": remote.get((service, operation), {}).get("mean_ms"),
            "remote_p95_ms": remote.get((service, operation), {}).get("p95_ms"),
        }
        for (service, operation), counts in sorted(compared.items())
    ]
    services = sorted(set(routed) | set(settings.CUTOVER))
    cut_over = []
    for service in services:
        calls = routed[service]
        total = calls["local"] + calls["remote"]
        cut_over.append(
            {
                "service": service,
                # None once the service is no longer under cut-over (its counts remain)
                "share_percent": (
                    cutover.share(service) if cutover.under_cutover(service) else None
                ),
                "local": int(calls["local"]),
                "remote": int(calls["remote"]),
                "remote_ratio": round(calls["remote"] / total, 3) if total else None,
            }
        )
    return {"shadow": shadow, "cutover": cut_over}


def collect(topology: Topology) -> dict:
    """{"processes": {process: figures, or {"down": True} when its /metrics does not answer},
    "sagas": the checkout saga's outcomes and durations, "checkout": the checkout request's
    latency at the edge, "parallel_run": the shadow's comparisons and the cut-over's calls}."""
    sources = {
        p.name: p.metrics_url for p in topology.processes if p.name != MONOLITH and p.metrics_url
    }
    sources |= {
        p.worker_name: p.worker_metrics_url for p in topology.processes if p.worker_metrics_url
    }
    edge = _samples(generate_latest(metrics.registry()).decode())
    results = {MONOLITH: _process(edge)}
    everything = list(edge)
    with ThreadPoolExecutor(max_workers=max(1, len(sources))) as pool:
        texts = {name: pool.submit(_fetch, url) for name, url in sources.items()}
        for name, future in texts.items():
            text = future.result()
            if text is None:
                results[name] = {"down": True}
                continue
            samples = _samples(text)
            everything += samples
            results[name] = _process(samples)
    return {
        "processes": results,
        "sagas": _sagas(everything),
        "checkout": _checkout(edge),
        "parallel_run": _parallel_run(everything),
    }
