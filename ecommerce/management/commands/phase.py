"""Show the current phase: which app runs where, and which database each one uses."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand

from ecommerce.wiring import resolver, topology


class Command(BaseCommand):
    help = (
        "Which app runs in which process in this phase (PHASE / EXTRACTED), and which database "
        "each uses."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        phase = resolver.current_phase()
        if options["json"]:
            rows = [asdict(p) for p in topology.placements(phase)]
            self.stdout.write(json.dumps({"phase": phase.name, "placements": rows}, indent=2))
        else:
            self.stdout.write(topology.render(phase))
