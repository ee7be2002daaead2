"""Payments in Django admin: read-only, searchable, refunds only after a confirmation page."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from apps.payment.models import Payment, Refund
from tests.factories import UserFactory
from tests.payment.charges import charge, new_order_id

pytestmark = pytest.mark.django_db(databases=["default", "payment"])

CHANGELIST = "/admin/payment/payment/"


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_payments_are_searchable_by_order_and_stripe_id_and_filterable(staff, local_stripe):
    # given
    wanted = charge(order_id=new_order_id())
    other = charge(order_id=new_order_id())
    # when
    by_order = staff.get(CHANGELIST, {"q": str(wanted.order_id)})
    by_stripe = staff.get(CHANGELIST, {"q": wanted.provider_id})
    by_status = staff.get(CHANGELIST, {"status__exact": "DECLINED"})
    by_text = staff.get(CHANGELIST, {"q": "not-a-number"})
    # then
    for response in (by_order, by_stripe):
        assert response.status_code == 200
        assert wanted.provider_id in response.content.decode()
        assert other.provider_id not in response.content.decode()
    assert wanted.provider_id not in by_status.content.decode()
    assert by_text.status_code == 200
    refunds = staff.get("/admin/payment/refund/", {"q": wanted.provider_id})
    assert refunds.status_code == 200


def test_payments_cannot_be_added_edited_or_deleted(staff, local_stripe):
    payment = charge()
    assert staff.get(f"{CHANGELIST}add/").status_code == 403
    detail = staff.get(f"{CHANGELIST}{payment.pk}/change/")
    assert detail.status_code == 200
    assert 'name="amount"' not in detail.content.decode()
    staff.post(f"{CHANGELIST}{payment.pk}/change/", {"amount": 1})
    payment.refresh_from_db()
    assert payment.amount == 1250
    assert staff.get(f"{CHANGELIST}{payment.pk}/delete/").status_code == 403


def test_the_refund_action_asks_first_then_refunds_once(staff, local_stripe):
    # given
    payment = charge(amount=1000)
    before = local_stripe.stats()["refunds_created"]
    # when: the action is chosen
    page = staff.post(CHANGELIST, {"action": "refund", ACTION_CHECKBOX_NAME: [payment.pk]})
    # then: a confirmation page, and nothing refunded yet
    assert page.status_code == 200
    assert "Yes, refund" in page.content.decode()
    assert not Refund.objects.exists()
    token = re.search(r'name="token" value="([0-9a-f]+)"', page.content.decode()).group(1)
    # when: confirmed for part of it, twice (a double submit)
    confirm = {
        "action": "refund",
        ACTION_CHECKBOX_NAME: [payment.pk],
        "confirm": "yes",
        "token": token,
        "amount": "300",
    }
    done = staff.post(CHANGELIST, confirm, follow=True)
    staff.post(CHANGELIST, confirm)
    # then
    assert "refunded 300 USD" in done.content.decode()
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.PARTIALLY_REFUNDED, 300)
    assert local_stripe.stats()["refunds_created"] - before == 1


def test_the_refund_action_reports_what_it_cannot_do(staff, local_stripe):
    # given
    payment = charge(amount=1000)
    page = staff.post(CHANGELIST, {"action": "refund", ACTION_CHECKBOX_NAME: [payment.pk]})
    token = re.search(r'name="token" value="([0-9a-f]+)"', page.content.decode()).group(1)
    # when: more than remains
    response = staff.post(
        CHANGELIST,
        {
            "action": "refund",
            ACTION_CHECKBOX_NAME: [payment.pk],
            "confirm": "yes",
            "token": token,
            "amount": "5000",
        },
        follow=True,
    )
    # then
    assert "not refunded" in response.content.decode()
    payment.refresh_from_db()
    assert payment.refunded_amount == 0
