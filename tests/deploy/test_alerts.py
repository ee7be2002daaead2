"""Prometheus alert rules: promtool accepts them, each is unit-tested by `promtool test rules`,
and each selects series the processes really export."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.deploy.compose import DOCKER, phase_model
from tests.deploy.procfile import PHASES
from tests.deploy.test_dashboard import metric_names

RULES = DOCKER / "prometheus/alerts.yml"
RULE_TESTS = DOCKER / "prometheus/alerts.test.yml"
NEEDED = {
    "TargetDown",
    "SagaFailureRatioHigh",
    "SagasStuck",
    "OutboxBacklogOld",
    "ConsumerLagHigh",
    "DeadLetterQueueNotEmpty",
}
# Scrape-time families (collectors registered by the process that owns the data) and Prometheus'
# own `up`: not in this process's registry.
SCRAPE_TIME = {
    "up",
    "saga_stuck",
    "outbox_oldest_unpublished_age_seconds",
    "dead_letter_queue_messages",
}


def _rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def test_every_alert_the_platform_needs_is_defined_and_unit_tested():
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    defined = {rule["alert"] for rule in _rules()}
    assert NEEDED <= defined
    assert defined == tested


def test_alerts_select_series_the_processes_export():
    import apps.analytics.consumer  # noqa: F401
    import apps.order.metrics  # noqa: F401
    import apps.payment.stripe_gateway  # noqa: F401
    import ecommerce.transports.relay  # noqa: F401
    import ecommerce.wiring.shadow  # noqa: F401

    exported = set()
    for collector in REGISTRY._collector_to_names:
        exported |= set(REGISTRY._collector_to_names[collector])
    for rule in _rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exported | SCRAPE_TIME, (rule["alert"], names - exported)


@pytest.mark.parametrize("phase", PHASES)
def test_prometheus_of_each_phase_loads_the_alerts(phase):
    volumes = phase_model(phase)["services"]["prometheus"]["volumes"]
    assert "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in volumes


@pytest.mark.skipif(not shutil.which("promtool"), reason="no promtool")
def test_promtool_checks_and_unit_tests_the_alert_rules():
    checked = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True
    )
    tested = subprocess.run(
        ["promtool", "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        cwd=RULE_TESTS.parent,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
