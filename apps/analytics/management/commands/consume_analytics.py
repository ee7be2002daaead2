"""Run the analytics consumer until stopped (SIGTERM or Ctrl-C finish the current batch)."""

import signal

from django.core.management.base import BaseCommand

from apps.analytics.consumer import AnalyticsConsumer, source_topics
from ecommerce.observability import metrics, tracing
from ecommerce.transports import kafka


class Command(BaseCommand):
    help = "Consume the services' events from Kafka into the analytics aggregates."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--wait-for-topics",
            type=float,
            default=60.0,
            help="Seconds to wait for `kafka_topics` to have created the topics.",
        )

    def handle(self, *args, batch_size, wait_for_topics, **options):
        tracing.setup("analytics")
        stopping = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
        metrics.serve("analytics")
        kafka.topics_wait([*source_topics(), kafka.dead_letter_topic()], timeout=wait_for_topics)
        consumer = AnalyticsConsumer(batch_size=batch_size)
        self.stdout.write(f"analytics consuming {', '.join(source_topics())}")
        self.stdout.flush()

        def progress(stats):
            self.stdout.write(f"batch {stats.line()}")
            self.stdout.flush()

        stats = consumer.run(
            should_stop=lambda: bool(stopping),
            on_batch=progress if options["verbosity"] >= 2 else None,
        )
        self.stdout.write(f"stopped {stats.line()}")
