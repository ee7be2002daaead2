"""The phases as processes: each Procfile runs what its phase extracts, and `manage.py phase`
says where every app runs and which database it uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

import phases

PROCFILES = Path(phases.__file__).parent


@pytest.mark.parametrize("number", [1, 2, 3])
def test_each_procfile_serves_what_its_phase_extracts_and_what_those_services_call(number):
    # given
    phase = phases.parse(number)
    text = (PROCFILES / f"Procfile.phase{number}").read_text()
    # when
    served = set(re.findall(r"manage\.py serve (\w+)", text))
    # then
    assert served == set(phase.extracted) | set(phase.monolith_endpoints())
    for app in phase.extracted:
        # an extracted app's outbox is relayed by a process that owns its database
        assert f"ECOMMERCE_SERVES={app} python manage.py relay_outbox {app}" in text


def test_phase_1_exposes_the_monolith_catalogue_to_the_cart_service():
    assert phases.parse(1).monolith_endpoints() == {"product"}
    assert phases.parse(3).monolith_endpoints() == frozenset()
    assert phases.parse(extracted="order").monolith_endpoints() == {"cart", "product", "payment"}


def test_the_phase_command_shows_where_each_app_runs_and_its_database(settings, capsys):
    # given
    settings.ECOMMERCE_PHASE = phases.parse(2)
    # when
    call_command("phase", json=True)
    # then
    shown = {row["app"]: row for row in json.loads(capsys.readouterr().out)["placements"]}
    assert shown["cart"]["process"] == "service `manage.py serve cart`"
    assert shown["product"]["grpc"] == settings.GRPC_TARGETS["product"]
    assert shown["order"]["process"].startswith("monolith")
    assert "/ecommerce_cart" in shown["cart"]["database"]
    assert "/ecommerce_default" in shown["edge"]["database"]
    assert set(shown) == {"product", "cart", "order", "payment", "edge"}
