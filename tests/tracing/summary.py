"""One checkout's trace in a few lines: spans per process, and the time each hop took.

`TRACE_SUMMARY=path pytest tests/tracing -k one_trace` writes it for the trace the test checked
(docs/journey.md quotes it).
"""

from __future__ import annotations

from collections import Counter

from tests.fixtures.otlp import ReceivedSpan


def _ms(nanoseconds: int) -> str:
    return f"{nanoseconds / 1e6:.1f} ms"


def _url(span: ReceivedSpan) -> str:
    return str(span.attributes.get("url.full") or span.attributes.get("http.url") or "")


def summarize(spans: list[ReceivedSpan], trace_id: str, linked: list[ReceivedSpan]) -> str:
    mine = sorted((s for s in spans if s.trace_id == trace_id), key=lambda s: s.start)
    by_id = {s.span_id: s for s in mine}
    (root,) = [s for s in mine if not s.parent_id]
    end = max(s.end for s in mine)
    lines = [
        f"trace {trace_id}: {len(mine)} spans in {len({s.service for s in mine})} processes,"
        f" {_ms(end - root.start)} from the request to the last publish",
        "spans per process: "
        + ", ".join(f"{n} {c}" for n, c in sorted(Counter(s.service for s in mine).items())),
        "spans per kind: "
        + ", ".join(f"{k} {c}" for k, c in sorted(Counter(s.kind for s in mine).items())),
        f"REST request (edge, {root.name}): {_ms(root.end - root.start)}",
    ]
    for span in mine:
        parent = by_id.get(span.parent_id)
        if parent is None:
            continue
        at = f"+{(span.start - root.start) / 1e6:6.1f} ms  "
        if span.kind == "CONSUMER" and parent.kind == "PRODUCER":
            lines.append(
                at
                + f"RabbitMQ {span.name.removeprefix('run/')}: {parent.service} -> {span.service}"
                f" queued {_ms(span.start - parent.start)}, ran {_ms(span.end - span.start)}"
            )
        elif (
            span.kind == "SERVER" and parent.kind == "CLIENT" and span.attributes.get("rpc.system")
        ):
            lines.append(
                at
                + f"gRPC {span.name}: {parent.service} -> {span.service} {_ms(parent.end - parent.start)}"
                f" (served in {_ms(span.end - span.start)})"
            )
        elif span.name.startswith("saga "):
            lines.append(
                at
                + f"{span.name} [{span.attributes.get('saga.outcome')}]: {_ms(span.end - span.start)}"
            )
        elif span.kind == "CLIENT" and "/v1/" in _url(span):
            path = _url(span).split("/v1/")[1].split("?")[0]
            lines.append(at + f"Stripe {span.name} /v1/{path}: {_ms(span.end - span.start)}")
        elif span.kind == "PRODUCER" and span.service.startswith("relay-"):
            lines.append(
                at + f"outbox -> Kafka {span.attributes.get('ecommerce.event_type')}: written in"
                f" {parent.service} ({parent.name}), published by {span.service}"
            )
    published = {
        s.span_id: s for s in mine if s.kind == "PRODUCER" and s.service.startswith("relay-")
    }
    for batch in linked:
        hops = [
            published[span_id]
            for t, span_id in batch.links
            if t == trace_id and span_id in published
        ]
        if hops:
            lines.append(
                f"analytics batch of {batch.attributes.get('messaging.batch.message_count')}"
                f" (its own trace, {len(batch.links)} links): started"
                f" {_ms(batch.start - min(h.start for h in hops))} after the first publish,"
                f" took {_ms(batch.end - batch.start)}"
            )
    return "\n".join(lines) + "\n"
