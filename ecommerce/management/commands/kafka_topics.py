"""Create the event stream's topics (one per service, plus the dead-letter topic)."""

from django.core.management.base import BaseCommand

from ecommerce.transports import kafka


class Command(BaseCommand):
    help = "Create every Kafka topic the services and the analytics consumer use."

    def add_arguments(self, parser):
        parser.add_argument("--partitions", type=int, help="Partitions per topic (new ones only).")
        parser.add_argument("--timeout", type=float, default=15.0)

    def handle(self, *args, partitions=None, timeout=15.0, **options):
        for name, outcome in kafka.topics_create(partitions=partitions, timeout=timeout).items():
            self.stdout.write(f"{name}: {outcome}")
