"""`make run` in services mode with only the database URLs set: what its processes are pointed
at, what is refused before any of them starts (one line naming it), and the banner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecommerce.wiring import launch

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = "postgres://shop@db.example:5432/shop"


def _minimal(tmp_path, **extra: str) -> dict[str, str]:
    """A shell with nothing but the mode and the database URLs (Redis and RabbitMQ local)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ECOMMERCE_MODE": "services",
        "DATABASE_URL": DATABASE_URL,
        "ECOMMERCE_VAR_DIR": str(tmp_path),
    }
    for alias in ("PRODUCT", "CART", "ORDER", "PAYMENT", "ANALYTICS"):
        env[f"{alias}_DATABASE_URL"] = f"postgres://shop@db.example:5432/shop_{alias.lower()}"
    return env | extra


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


# What a process the Procfile starts sees: its settings, and the Kafka client's configuration.
PROBE = (
    "import json, django; django.setup(); from django.conf import settings; "
    "from ecommerce.transports import kafka; "
    "print(json.dumps({'kafka': kafka.producer_config()['bootstrap.servers'], "
    "'stripe': settings.STRIPE_API_BASE, 'database': settings.DATABASES['default']['HOST']}))"
)


@pytest.mark.parametrize("phase", ["0", "1", "2", "3"])
def test_unset_components_the_procfile_starts_point_at_the_local_ones(tmp_path, phase):
    # given: services mode, only the database URLs set
    env = _minimal(tmp_path)
    # when
    started = launch.resolve(env, launch.procfile_for(phase))
    probed = _run(started.env | {"DJANGO_SETTINGS_MODULE": "settings.services"}, "-c", PROBE)
    # then: the relays and the payment app find the Tansu and Stripe that the Procfile starts
    assert {"kafka", "stripe"} <= set(started.processes)
    assert started.env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert started.env["STRIPE_API_BASE"] == "http://127.0.0.1:12111"
    assert probed.returncode == 0, probed.stderr
    assert json.loads(probed.stdout) == {
        "kafka": "127.0.0.1:19092",
        "stripe": "http://127.0.0.1:12111",
        "database": "db.example",
    }


def test_the_local_ports_and_explicit_values_are_followed(tmp_path):
    env = _minimal(tmp_path, KAFKA_LOCAL_PORT="29092", STRIPE_API_BASE="http://127.0.0.1:4242")
    started = launch.resolve(env, launch.procfile_for("0"))
    assert started.env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:29092"
    assert started.env["STRIPE_API_BASE"] == "http://127.0.0.1:4242"
    assert set(started.local) == {"KAFKA_BOOTSTRAP_SERVERS"}


def test_the_check_says_what_unset_variables_now_point_at(tmp_path):
    checked = _run(_minimal(tmp_path), "-m", "ecommerce.wiring.launch", "3")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines() == [
        "KAFKA_BOOTSTRAP_SERVERS is unset: the local Tansu, 127.0.0.1:19092",
        "STRIPE_API_BASE is unset: the local Stripe server, http://127.0.0.1:12111",
    ]


PRODUCTION = {
    "DJANGO_SECRET_KEY": "s",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka.example:9092",
    "SERVICE_TOKEN": "t",
}


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"ECOMMERCE_MODE": "service"}, "ECOMMERCE_MODE"),
        ({"STRIPE_API_BASE": "https://api.stripe.com"}, "STRIPE_SECRET_KEY"),
        (
            {"STRIPE_API_BASE": "https://api.stripe.com", "STRIPE_SECRET_KEY": "sk_live_x"},
            "STRIPE_WEBHOOK_SECRET",
        ),
        ({"ECOMMERCE_MODE": "production"}, "DJANGO_SECRET_KEY"),
        ({"SHADOW": "product,catalog"}, "SHADOW names no service: catalog"),
        ({"CUTOVER": "product:150"}, "CUTOVER: 'product:150'"),
        ({"CUTOVER": "product:half"}, "CUTOVER: 'product:half'"),
        ({"CUTOVER": "orders:10"}, "CUTOVER names no service: orders"),
        (
            # Production names its Kafka itself: never the local Tansu by default.
            {"ECOMMERCE_MODE": "production"}
            | {k: v for k, v in PRODUCTION.items() if k != "KAFKA_BOOTSTRAP_SERVERS"},
            "KAFKA_BOOTSTRAP_SERVERS",
        ),
    ],
)
def test_a_missing_required_setting_is_refused_in_one_line_naming_it(tmp_path, extra, named):
    # when
    checked = _run(_minimal(tmp_path, **extra), "-m", "ecommerce.wiring.launch")
    # then
    assert checked.returncode == 2
    assert checked.stdout == ""
    [line] = checked.stderr.splitlines()
    assert line.startswith("make run: refused: ")
    assert named in line


TLS = {
    "GRPC_TLS_CA": "/tls/ca.crt",
    "GRPC_TLS_CERT": "/tls/tls.crt",
    "GRPC_TLS_KEY": "/tls/tls.key",
}


@pytest.mark.parametrize(
    ("extra", "missing"),
    [
        # Half of mutual TLS, in any mode: which half is missing is named.
        ({k: v for k, v in TLS.items() if k != "GRPC_TLS_KEY"}, "GRPC_TLS_KEY is not set"),
        (
            {"ECOMMERCE_MODE": "embedded", "GRPC_TLS_KEY": "/tls/tls.key"},
            "GRPC_TLS_CA and GRPC_TLS_CERT are not set",
        ),
        # Production from phase 1 on: services are called over mutual TLS only.
        ({"ECOMMERCE_MODE": "production", "PHASE": "1"} | PRODUCTION, "GRPC_TLS_CA is not set"),
        (
            {"ECOMMERCE_MODE": "production", "PHASE": "3"}
            | PRODUCTION
            | {k: v for k, v in TLS.items() if k != "GRPC_TLS_CERT"},
            "GRPC_TLS_CERT is not set",
        ),
    ],
)
def test_grpc_tls_settings_missing_are_refused_in_one_line_naming_them(tmp_path, extra, missing):
    # when
    checked = _run(
        _minimal(tmp_path, **extra), "-m", "ecommerce.wiring.launch", extra.get("PHASE", "0")
    )
    # then
    assert checked.returncode == 2
    [line] = checked.stderr.splitlines()
    assert line.startswith("make run: refused: ")
    assert missing in line


@pytest.mark.parametrize(("phase", "extra"), [("0", {}), ("1", TLS), ("3", TLS)])
def test_production_with_every_setting_passes_the_check(tmp_path, phase, extra):
    # given: production in phase 0 needs no certificate (no gRPC); from phase 1 on, it does
    env = _minimal(tmp_path, ECOMMERCE_MODE="production", PHASE=phase, **PRODUCTION, **extra)
    # when
    checked = _run(env, "-m", "ecommerce.wiring.launch", phase)
    # then
    assert (checked.returncode, checked.stderr) == (0, "")


def test_run_platform_refuses_before_starting_anything(tmp_path):
    env = _minimal(tmp_path, STRIPE_API_BASE="https://api.stripe.com")
    started = _run(env, "manage.py", "run_platform", "--port", "8123")
    assert started.returncode == 2
    [line] = started.stderr.splitlines()
    assert "STRIPE_SECRET_KEY" in line
    assert "storefront API" not in started.stdout  # no banner: nothing was started


def test_make_run_checks_before_it_migrates_or_starts_anything():
    planned = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).stdout
    assert planned.index("-m ecommerce.wiring.launch") < planned.index("migrate_all")
    assert planned.index("-m ecommerce.wiring.launch") < planned.index("run_platform")


def test_the_banner_shows_full_urls(tmp_path):
    # when
    shown = _run(_minimal(tmp_path), "manage.py", "run_platform", "--dry-run", "--port", "8123")
    # then
    assert shown.returncode == 0, shown.stderr
    lines = {line.split()[0]: line for line in shown.stdout.splitlines() if line.startswith("  ")}
    assert lines["local"].split()[-1] == "http://127.0.0.1:12111/_local/stats"
    assert lines["storefront"].split()[-1] == "http://127.0.0.1:8123/api/products"
    assert lines["Kafka"].split()[1] == "127.0.0.1:19092"
    for name in ("storefront", "API", "admin", "metrics", "health", "local"):
        urls = [word for word in lines[name].split() if "/" in word]
        assert urls and all(url.startswith("http://") for url in urls), lines[name]
    assert "would start: web, worker, kafka" in shown.stdout
