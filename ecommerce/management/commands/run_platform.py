"""Start every process of a phase (its Procfile, through honcho) and print where things are."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

import phases
from ecommerce import topology


class Command(BaseCommand):
    help = "Run the platform: every process the phase's Procfile lists."

    def add_arguments(self, parser):
        parser.add_argument("--phase", default=os.environ.get("PHASE", "0"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, phase: str, port: int, **options):
        chosen = phases.parse(phase, os.environ.get("EXTRACTED", ""))
        procfile = Path(phases.__file__).parent / f"Procfile.phase{chosen.name}"
        if not procfile.exists():
            self.stderr.write(f"No Procfile for {chosen.describe()} ({procfile.name} is missing).")
            sys.exit(2)
        call_command("collectstatic", interactive=False, verbosity=0)
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"  {chosen.describe()} ({settings.ECOMMERCE_MODE} mode)",
                    f"  storefront API  {base}/api/products",
                    f"  API docs        {base}/api/docs/",
                    f"  admin           {base}/admin/   (user: "
                    f"{os.environ.get('DEMO_ADMIN_USERNAME', 'admin')}, password: "
                    f"{os.environ.get('DEMO_ADMIN_PASSWORD', 'admin')})",
                    f"  metrics         {base}/metrics",
                    f"  health          {base}/healthz  {base}/readyz",
                    f"  local Stripe    {settings.STRIPE_API_BASE}/_local/stats",
                    "",
                    topology.render(chosen),
                    "",
                    topology.render_metrics(
                        topology.metrics_endpoints(procfile.read_text(), edge_port=port)
                    ),
                    "",
                ]
            )
        )
        sys.stdout.flush()
        env = dict(
            os.environ, PHASE=chosen.name if chosen.name != "custom" else "0", PORT=str(port)
        )
        if chosen.name == "custom":
            env["EXTRACTED"] = ",".join(sorted(chosen.extracted))
        # honcho gives each process its own PORT; the edge's stays known as EDGE_PORT.
        env["EDGE_PORT"] = str(port)
        venv_bin = str(Path(sys.executable).parent)
        env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
        os.execvpe(
            sys.executable,
            [
                sys.executable,
                "-m",
                "honcho",
                "-f",
                str(procfile),
                "-d",
                str(settings.BASE_DIR),
                "start",
            ],
            env,
        )
