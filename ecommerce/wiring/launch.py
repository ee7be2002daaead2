"""What `make run` starts with: the environment its Procfile's processes get, checked first.

A variable left unset that names a component the Procfile starts itself points at that local
component (Kafka at the local Tansu, Stripe at the local Stripe server), in embedded and
services mode alike. A setting that is truly required and missing is refused before any process
starts, in one line naming it: `python -m ecommerce.wiring.launch` (the first step of `make run`) and
`manage.py run_platform` both check.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import phases

MODES = ("embedded", "services", "production")
PROCFILES = Path(phases.__file__).parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# The local Stripe-compatible server's secrets (stripe_local takes any sk_..., settings.base).
LOCAL_STRIPE_DEFAULTS = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")


def _kafka(env: dict[str, str]) -> str:
    return f"127.0.0.1:{env.get('KAFKA_LOCAL_PORT') or 19092}"


def _stripe(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env.get('STRIPE_LOCAL_PORT') or 12111}"


# Procfile process -> the variable that names it, and where the local one listens.
LOCAL_COMPONENTS = {
    "kafka": ("KAFKA_BOOTSTRAP_SERVERS", _kafka, "the local Tansu"),
    "stripe": ("STRIPE_API_BASE", _stripe, "the local Stripe server"),
}


class Refused(Exception):
    """A setting the platform cannot start without; the message is one line naming it."""


@dataclass
class Launch:
    mode: str
    procfile: Path
    processes: list[str]
    env: dict[str, str]
    # Variables that were unset and now name a local component: name -> (value, what).
    local: dict[str, tuple[str, str]] = field(default_factory=dict)


def procfile_for(phase_name: str) -> Path:
    return PROCFILES / f"Procfile.phase{phase_name}"


def procfile_processes(procfile: Path) -> list[str]:
    names = []
    for line in procfile.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):", line)
        if match:
            names.append(match.group(1))
    return names


def resolve(env: dict[str, str], procfile: Path) -> Launch:
    """The environment the Procfile's processes get; raises Refused naming what is missing."""
    mode = env.get("ECOMMERCE_MODE") or "embedded"
    if mode not in MODES:
        raise Refused(f"ECOMMERCE_MODE={mode!r} is not a mode: use one of {', '.join(MODES)}")
    if not procfile.exists():
        raise Refused(f"{procfile.name} is missing: no such phase")
    launch = Launch(mode, procfile, procfile_processes(procfile), dict(env, ECOMMERCE_MODE=mode))
    for process, (variable, local, what) in LOCAL_COMPONENTS.items():
        if launch.env.get(variable) or mode == "production":
            continue  # production names every component itself (settings.production)
        if process in launch.processes:
            value = local(launch.env)
            launch.env[variable] = value
            launch.local[variable] = (value, what)
        elif process == "kafka":
            raise Refused(
                f"{variable} is not set, and {procfile.name} starts no local Kafka: "
                "name your Kafka brokers"
            )
    return launch


def check(launch: Launch) -> None:
    """Refuse what the platform cannot start without: what the mode's settings refuse, then
    what no setting can tell on its own."""
    check_settings(launch)
    check_stripe(launch)


def check_stripe(launch: Launch) -> None:
    base = launch.env.get("STRIPE_API_BASE", "")
    if (urlsplit(base).hostname or "") not in LOCAL_HOSTS:
        # A real Stripe: the local server's secrets would fail every charge.
        for variable in LOCAL_STRIPE_DEFAULTS:
            if not launch.env.get(variable):
                raise Refused(
                    f"{variable} is not set, and Stripe is {base or 'https://api.stripe.com'}, "
                    "not the local Stripe server: set it from that Stripe account"
                )


def check_settings(launch: Launch) -> None:
    """Import the mode's settings with the launch environment; what they refuse is Refused."""
    from django.core.exceptions import ImproperlyConfigured

    module = f"settings.{launch.mode}"
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(launch.env)
    try:
        importlib.import_module(module)
    except ImproperlyConfigured as error:
        message = " ".join(str(error).split())
        named = re.search(r"Set the (\w+) environment variable", message)
        if named:
            raise Refused(f"{named.group(1)} is not set, and {module} requires it") from None
        raise Refused(f"{module}: {message}") from None
    finally:
        os.environ.clear()
        os.environ.update(saved)


def banner(launch: Launch, *, phase_description: str, port: int, admin: tuple[str, str]) -> str:
    """What `make run` prints first: where everything is, as full URLs."""
    base = f"http://127.0.0.1:{port}"
    stripe = launch.env.get("STRIPE_API_BASE") or "https://api.stripe.com"
    lines = [
        "",
        f"  {phase_description} ({launch.mode} mode)",
        f"  storefront API  {base}/api/products",
        f"  API docs        {base}/api/docs/",
        f"  admin           {base}/admin/   (user: {admin[0]}, password: {admin[1]})",
        f"  metrics         {base}/metrics",
        f"  health          {base}/healthz  {base}/readyz",
    ]
    if "stripe" in launch.processes and "STRIPE_API_BASE" in launch.local:
        lines.append(f"  local Stripe    {stripe}/_local/stats")
    else:
        lines.append(f"  Stripe          {stripe}")
    kafka = launch.env.get("KAFKA_BOOTSTRAP_SERVERS", "")
    where = " (the local Tansu)" if "KAFKA_BOOTSTRAP_SERVERS" in launch.local else ""
    lines.append(f"  Kafka           {kafka}{where}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m ecommerce.wiring.launch [PHASE]`: refuse in one line, or say what unset variables
    now point at."""
    argv = sys.argv[1:] if argv is None else argv
    phase = argv[0] if argv else os.environ.get("PHASE", "0")
    try:
        chosen = phases.parse(phase, os.environ.get("EXTRACTED", ""))
        launch = resolve(dict(os.environ), procfile_for(chosen.name))
        check(launch)
    except (Refused, phases.PhaseError) as error:
        print(f"make run: refused: {error}", file=sys.stderr)
        return 2
    for variable, (value, what) in launch.local.items():
        print(f"{variable} is unset: {what}, {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
