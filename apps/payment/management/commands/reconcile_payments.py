"""Settle payments left open by a crash or an outage, once or every few seconds."""

from __future__ import annotations

import time
from datetime import timedelta

from django.core.management.base import BaseCommand

from apps.payment.services import payments_reconcile
from ecommerce import tracing


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
        while True:
            with tracing.span("reconcile payments"):
                counts = payments_reconcile(older_than=timedelta(seconds=older_than))
            if counts:
                summary = ", ".join(f"{status}={n}" for status, n in sorted(counts.items()))
                self.stdout.write(f"reconciled: {summary}")
            if not every:
                return
            time.sleep(every)
