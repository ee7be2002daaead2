"""Platform settings that change while the platform runs (the edge's database)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models

from phases.services import SERVICES


class CutoverShare(models.Model):
    """The share of a service's calls that go to its gRPC service while the phase still keeps
    it in-process (ecommerce/wiring/cutover.py); `CUTOVER` must name the service."""

    service = models.CharField(
        max_length=32, unique=True, choices=[(name, name) for name in SERVICES]
    )
    percent = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(100)],
        help_text="0: every call in-process; 100: every call to the service. Sticky per user.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service"]
        verbose_name = "cut-over share"

    def __str__(self) -> str:
        return f"{self.service}: {self.percent} %"
