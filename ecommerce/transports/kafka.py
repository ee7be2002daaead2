"""The event stream's names and client settings: one topic per service, plus the dead-letter topic.

Topic layout: every service publishes all of its events to `<prefix><service>` (product, cart,
order, payment), keyed by aggregate id, so the events of one aggregate share a partition and stay
in order. A topic per service rather than per aggregate type keeps one relay process writing one
topic, and lets a consumer follow a service without knowing its aggregates. Topics are created by
`manage.py kafka_topics` only; the relay and the consumer refuse to run before they exist.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings

from phases.services import REGISTRY, SERVICES


class TopicsMissing(RuntimeError):
    pass


def service_topic(service: str) -> str:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    return f"{settings.KAFKA_TOPIC_PREFIX}{REGISTRY[service].topic}"


def dead_letter_topic() -> str:
    return f"{settings.KAFKA_TOPIC_PREFIX}analytics.dead-letter"


def all_topics() -> list[str]:
    return [*(service_topic(s) for s in SERVICES), dead_letter_topic()]


def _base_config() -> dict[str, Any]:
    if not settings.KAFKA_BOOTSTRAP_SERVERS:
        raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set.")
    return {"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS}


def producer_config(**overrides: Any) -> dict[str, Any]:
    """Idempotent producer: the broker drops the duplicates of its own retries, order is kept."""
    return (
        _base_config()
        | {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            # A broker that stays away fails the delivery after this long instead of five minutes;
            # the row stays unpublished and is sent again on the next pass.
            "message.timeout.ms": 30_000,
        }
        | overrides
    )


def consumer_config(group_id: str, **overrides: Any) -> dict[str, Any]:
    return (
        _base_config()
        | {
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "allow.auto.create.topics": False,
            # With librdkafka's defaults a group join on Tansu waits out the rebalance timeout
            # (about 23 s); these bring it to about 3 s.
            "max.poll.interval.ms": 7000,
            "session.timeout.ms": 6000,
            # A fetch may wait this long for data; it bounds the lag the broker adds.
            "fetch.wait.max.ms": 100,
        }
        | overrides
    )


def admin() -> AdminClient:
    return AdminClient(_base_config())


def topics_create(*, partitions: int | None = None, timeout: float = 15.0) -> dict[str, str]:
    """Create every topic that does not exist yet; answers topic -> "created" | "exists"."""
    count = partitions or settings.KAFKA_TOPIC_PARTITIONS
    client = admin()
    futures = client.create_topics(
        [NewTopic(name, num_partitions=count, replication_factor=1) for name in all_topics()],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    outcome = {}
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
            outcome[name] = "created"
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            outcome[name] = "exists"
    return outcome


def _reachable(bootstrap: str) -> bool:
    for server in bootstrap.split(","):
        host, _, port = server.split("://")[-1].strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), 1.0):
                return True
        except (OSError, ValueError):
            continue
    return False


def topics_wait(names: list[str], *, timeout: float, poll: float = 1.0) -> None:
    """Block until every topic exists (listing all topics, which never creates one)."""
    deadline = time.monotonic() + timeout
    # A client started before the broker listens logs every failed connect; wait quietly.
    while not _reachable(_base_config()["bootstrap.servers"]):
        if time.monotonic() >= deadline:
            raise TopicsMissing(f"No broker at {settings.KAFKA_BOOTSTRAP_SERVERS}.")
        time.sleep(0.2)
    client = admin()
    while True:
        try:
            existing = set(client.list_topics(timeout=max(poll, 1.0)).topics)
        except KafkaException:
            existing = set()
        missing = [n for n in names if n not in existing]
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise TopicsMissing(
                f"Topic(s) {', '.join(missing)} do not exist; run `manage.py kafka_topics`."
            )
        time.sleep(poll)
