"""Failpoints raise what the operation at their place really raises, so the code around one
handles an injected failure exactly as it handles the real one."""

import pytest

from ecommerce.contracts.errors import Conflict, DomainError, ServiceUnavailable
from ecommerce.wiring.failpoints import NoErrorHere, failpoint


def test_an_armed_error_raises_the_error_its_place_names(monkeypatch):
    # given: a failpoint armed with `error` at a place whose operation fails with Conflict
    monkeypatch.setenv("ECOMMERCE_FAILPOINTS", "other=kill, here=error")
    # when / then: the caller sees that domain error, with its stable code
    with pytest.raises(Conflict) as raised:
        failpoint("here", error=Conflict)
    assert isinstance(raised.value, DomainError)
    assert raised.value.code == "conflict"
    assert "failpoint here" in raised.value.message


def test_an_unarmed_failpoint_does_nothing(monkeypatch):
    monkeypatch.setenv("ECOMMERCE_FAILPOINTS", "elsewhere=error")
    assert failpoint("here", error=Conflict) is None
    monkeypatch.delenv("ECOMMERCE_FAILPOINTS")
    assert failpoint("here", error=Conflict) is None


def test_error_armed_where_only_a_crash_is_possible_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("ECOMMERCE_FAILPOINTS", "relay.acknowledged=error")
    with pytest.raises(NoErrorHere, match="relay.acknowledged"):
        failpoint("relay.acknowledged")


def test_unavailable_raises_the_transient_error_every_caller_retries(monkeypatch):
    monkeypatch.setenv("ECOMMERCE_FAILPOINTS", "here=unavailable")
    with pytest.raises(ServiceUnavailable):
        failpoint("here", error=Conflict)
