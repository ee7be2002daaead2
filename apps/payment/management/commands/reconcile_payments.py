"""Settle payments left open by a crash or an outage, once or every few seconds."""

from __future__ import annotations

import time
from datetime import timedelta

from django.core.management.base import BaseCommand
from prometheus_client import Counter

from apps.payment.services import payments_reconcile
from ecommerce.observability import metrics, tracing

RECONCILED = Counter(
    "payment_reconciled_total",
    "Open payments the reconciler settled, by the status found.",
    ["status"],
)


class Command(BaseCommand):
    help = "Ask Stripe about payments PENDING or UNAVAILABLE for too long and record the answer."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=int, default=300, help="seconds a payment has been open"
        )
        parser.add_argument(
            "--every", type=int, default=0, help="repeat every N seconds (0: run once)"
        )

    def handle(self, *args, older_than: int, every: int, **options):
        tracing.setup("reconciler")
        if every:  # a long-running process: scraped like every other
            metrics.serve("reconcile-payments")
        while True:
            with tracing.span("reconcile payments"):
                counts = payments_reconcile(older_than=timedelta(seconds=older_than))
            for status, n in counts.items():
                RECONCILED.labels(status).inc(n)
            if counts:
                summary = ", ".join(f"{status}={n}" for status, n in sorted(counts.items()))
                self.stdout.write(f"reconciled: {summary}")
            if not every:
                return
            time.sleep(every)
