"""Production settings refuse to start without their secrets (a clean environment each time)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Values that must parse as what they are; any other required name takes a plain string.
SAMPLES = {
    "DATABASE_URL": "postgres://shop@db.internal:5432/shop",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
}
# What issue 2 asks production to refuse to start without (the overlay may require more).
MUST_REQUIRE = {
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "DJANGO_ALLOWED_HOSTS",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "KAFKA_BOOTSTRAP_SERVERS",
}
# Every `env.<type>("NAME")` without a default in the overlay is a secret it requires.
REQUIRED = sorted(
    set(
        re.findall(
            r'env\.\w+\(\s*"([A-Z0-9_]+)"\s*\)', (ROOT / "settings/production.py").read_text()
        )
    )
)
SECRETS = {name: SAMPLES.get(name, f"production-{name.lower()}") for name in REQUIRED}

PROBE = (
    "from django.conf import settings; "
    "print(settings.DEBUG, settings.SECRET_KEY, settings.ALLOWED_HOSTS, "
    "settings.DATABASES['default']['HOST'])"
)


def _start(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "settings.production",
        "ECOMMERCE_VAR_DIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_starts_with_every_secret(tmp_path):
    # when
    started = _start(SECRETS, tmp_path)
    # then
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == [
        "False",
        SECRETS["DJANGO_SECRET_KEY"],
        "['shop.example.com']",
        "db.internal",
    ]


def test_production_requires_at_least_the_documented_secrets():
    assert MUST_REQUIRE <= set(REQUIRED)


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_to_start_without_a_secret(tmp_path, missing):
    # given
    env = {name: value for name, value in SECRETS.items() if name != missing}
    # when
    started = _start(env, tmp_path)
    # then
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert missing in started.stderr


TLS = {
    name: f"/etc/ecommerce/grpc-tls/{name.lower()}"
    for name in ("GRPC_TLS_CA", "GRPC_TLS_CERT", "GRPC_TLS_KEY")
}


@pytest.mark.parametrize("phase", ["1", "3"])
@pytest.mark.parametrize("missing", sorted(TLS))
def test_production_from_phase_1_refuses_to_start_without_its_grpc_certificate(
    tmp_path, phase, missing
):
    # given: every secret, the phase's services, and two of the three TLS settings
    env = SECRETS | {"PHASE": phase} | {k: v for k, v in TLS.items() if k != missing}
    # when
    started = _start(env, tmp_path)
    # then
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert f"{missing} is not set" in started.stderr or f"Set the {missing}" in started.stderr


def test_production_from_phase_1_starts_with_its_grpc_certificate(tmp_path):
    started = _start(SECRETS | {"PHASE": "2"} | TLS, tmp_path)
    assert started.returncode == 0, started.stderr
