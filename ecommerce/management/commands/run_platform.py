"""Start every process of a phase (its Procfile, through honcho) and print where things are."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

import phases
from ecommerce.wiring import launch, topology


class Command(BaseCommand):
    help = "Run the platform: every process the phase's Procfile lists."

    def add_arguments(self, parser):
        parser.add_argument("--phase", default=os.environ.get("PHASE", "0"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the banner and the processes, start nothing",
        )

    def handle(self, *args, phase: str, port: int, dry_run: bool = False, **options):
        chosen = phases.parse(phase, os.environ.get("EXTRACTED", ""))
        try:
            # Unset variables naming what the Procfile starts locally point at it; what the
            # settings (loaded already) cannot tell on their own is checked here.
            started = launch.resolve(dict(os.environ), launch.procfile_for(chosen.name))
            launch.check_stripe(started)
        except launch.Refused as error:
            self.stderr.write(f"run_platform: refused: {error}")
            sys.exit(2)
        procfile = started.procfile
        if not dry_run:
            call_command("collectstatic", interactive=False, verbosity=0)
        admin = (
            os.environ.get("DEMO_ADMIN_USERNAME", "admin"),
            os.environ.get("DEMO_ADMIN_PASSWORD", "admin"),
        )
        self.stdout.write(
            "\n".join(
                [
                    launch.banner(
                        started, phase_description=chosen.describe(), port=port, admin=admin
                    ),
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
        if dry_run:
            self.stdout.write(f"  would start: {', '.join(started.processes)}")
            return
        env = dict(
            started.env, PHASE=chosen.name if chosen.name != "custom" else "0", PORT=str(port)
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
