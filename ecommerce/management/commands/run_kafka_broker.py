"""Run the local Kafka-compatible broker (Tansu) in the foreground and create the topics."""

import os
import signal
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from ecommerce.devservers import kafka_broker


class Command(BaseCommand):
    help = "Start Tansu (memory storage) on KAFKA_LOCAL_PORT and create the topics."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.KAFKA_LOCAL_PORT)

    def handle(self, *args, port, **options):
        process, port = kafka_broker.start(port)
        self.stdout.write(f"tansu listening on 127.0.0.1:{port}")
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{port}"
        settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{port}"
        call_command("kafka_topics", stdout=self.stdout)
        self.stdout.flush()

        def stop(*_):
            process.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        sys.exit(process.wait())
