"""Reconciliation: payments left unsettled (Stripe unreachable, an answer lost) are asked about
again until Stripe's answer settles them.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.utils import timezone

from apps.payment.models import Payment
from apps.payment.services.charges import payment_refresh
from apps.payment.services.state import DB, S, payment_advance
from ecommerce.contracts.payment.errors import PaymentUnavailable


def payments_reconcile(*, older_than: timedelta, limit: int = 200) -> Counter:
    """Settle payments left open for longer than `older_than` (e.g. after a crash between the
    commit and Stripe's answer) from what Stripe knows; see `payment_refresh`. What is still
    open afterwards ends UNAVAILABLE, which its caller resumes by charging again with the same
    key. Returns how many ended in each state.
    """
    counts: Counter = Counter()
    cutoff = timezone.now() - older_than
    stale = Payment.objects.using(DB).filter(
        status__in=(S.PENDING, S.UNAVAILABLE), updated_at__lt=cutoff
    )
    for payment in stale.order_by("pk")[:limit]:
        try:
            payment = payment_refresh(payment_id=payment.pk)
            message = (
                "Interrupted before Stripe settled it; nothing was charged. "
                "Charge again with the same key to resume."
            )
        except PaymentUnavailable:
            message = "Stripe unreachable; charge again with the same key."
        if payment.status in (S.PENDING, S.UNAVAILABLE):
            payment = payment_advance(payment.pk, S.UNAVAILABLE, failure_message=message)
        counts[payment.status] += 1
    return counts
