"""Run one service's outbox relay: its unpublished events to its Kafka topic, until stopped."""

import signal

from django.core.management.base import BaseCommand

from ecommerce.observability import metrics, tracing
from ecommerce.transports import kafka
from ecommerce.transports.relay import OutboxRelay


class Command(BaseCommand):
    help = "Publish a service's outbox to Kafka (one process per service)."

    def add_arguments(self, parser):
        parser.add_argument("service", choices=kafka.SERVICES)
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--wait-for-topics",
            type=float,
            default=60.0,
            help="Seconds to wait for `kafka_topics` to have created the topic.",
        )

    def handle(self, *args, service, batch_size, wait_for_topics, **options):
        tracing.setup(f"relay-{service}")
        stopping = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
        metrics.serve(f"relay-{service}")
        kafka.topics_wait([kafka.service_topic(service)], timeout=wait_for_topics)
        relay = OutboxRelay(service, batch_size=batch_size)
        metrics.add_collector("outbox", metrics.ScrapeCollector(relay.backlog_families))
        self.stdout.write(f"relay {service} -> {relay.topic}", ending="\n")
        self.stdout.flush()
        total = relay.run(should_stop=lambda: bool(stopping))
        self.stdout.write(f"relay {service} stopped after publishing {total} events")
