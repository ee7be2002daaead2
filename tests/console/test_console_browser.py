"""The console in a real browser (Chromium through Playwright) against a live edge in phase 0:
the topology, a shopper's checkout from the page to COMPLETED or FAILED, and its saga."""

import json
import re
import socket
import urllib.request
from datetime import timedelta

import pytest
from django.contrib import admin
from django.utils import timezone

from apps.order.models import CheckoutSaga
from ecommerce.wiring import cutover, resolver, shadow
from phases import parse
from tests.console.conftest import first_render_ms, screenshot
from tests.factories import ProductFactory, UserFactory
from tests.phases.conftest import start_service  # noqa: F401  (a fixture)
from tests.saga.conftest import wait_for_orders
from tests.saga.flows import checkout, shopper

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]

FORWARD = ["reserve_cart", "hold_stock", "charge_payment", "commit"]


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_topology_shows_the_processes_of_the_phase_and_their_health(
    live_server, page, settings
):
    phase = settings.ECOMMERCE_PHASE
    page.goto(live_server.url + "/")
    print(f"\nconsole first render (topology, phase {phase.name}): {first_render_ms(page):.1f} ms")
    assert page.locator("#phase-name").get_attribute("data-phase") == phase.name
    rows = page.locator("#processes tbody tr")
    processes = [rows.nth(i).get_attribute("data-process") for i in range(rows.count())]
    served = {f"monolith-{app}" for app in phase.monolith_endpoints()}
    assert processes[0] == "monolith"
    assert sorted(processes[1:]) == sorted(phase.extracted | served)
    in_monolith = page.locator("#process-monolith ~ .app").evaluate_all(
        "els => els.map(e => e.dataset.app)"
    )
    monolith_apps = {"edge", "product", "cart", "order", "payment"} - phase.extracted
    assert sorted(a for a in in_monolith if a in monolith_apps) == sorted(monolith_apps)
    for app in ("edge", "product", "cart", "order", "payment"):
        where = page.locator(f'#apps tr[data-app="{app}"] td').first.inner_text()
        assert where == (app if app in phase.extracted else "monolith"), app
    grpc = page.locator("svg path.call.grpc[data-caller]").evaluate_all(
        "els => els.map(e => e.dataset.callee)"
    )
    assert set(grpc) == set(phase.extracted) | set(phase.monolith_endpoints())
    for process in processes:
        page.wait_for_selector(f"#health-{process}.up", state="attached")
        assert page.locator(f"#health-text-{process}").inner_text().startswith("up")
    assert page.locator("#process-monolith a.metrics-link").get_attribute("href") == "/metrics"
    screenshot(page, f"topology-phase{phase.name}")


def test_phase_3_with_its_services_stopped_shows_them_down(live_server, page, settings):
    settings.ECOMMERCE_PHASE = parse(3)
    settings.SERVICE_HTTP_PORTS = {app: _unused_port() for app in settings.SERVICE_HTTP_PORTS}
    page.goto(live_server.url + "/")
    assert page.locator("#phase-name").get_attribute("data-phase") == "3"
    rows = page.locator("#processes tbody tr")
    assert sorted(rows.nth(i).get_attribute("data-process") for i in range(rows.count())) == [
        "cart", "monolith", "order", "payment", "product",
    ]  # fmt: skip
    for app in ("product", "cart", "order", "payment"):
        page.wait_for_selector(f"#health-{app}.down", state="attached")
        assert page.locator(f"#health-text-{app}").inner_text() == "down"
    page.wait_for_selector("#health-monolith.up", state="attached")
    assert page.locator('svg path.call.grpc[data-caller="edge"]').count() == 4
    screenshot(page, "topology-phase3-stopped")


def _sign_up_and_fill_cart(page, live_server, product, username):
    page.goto(live_server.url + "/console/shop/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email (sign up only)").fill(f"{username}@example.com")
    page.get_by_label("Password").fill("a-long-enough-password-1")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_selector("#who:has-text('signed in as')")
    page.get_by_label("Search").fill(product.name)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector(
        f'#products[data-query*="search={product.name.split()[0]}"]', state="attached"
    )
    card = page.locator(f'li.product[data-product-id="{product.pk}"]')
    card.get_by_label("Quantity").fill("2")
    card.get_by_role("button", name=f"Add {product.name} to cart").click()
    page.wait_for_selector(f'#cart-lines li[data-product-id="{product.pk}"]')
    assert "2 × " in page.locator("#cart-lines").inner_text()


def _check_out(page, card: str) -> None:
    page.get_by_label("Card (Stripe test payment method)").select_option(card)
    page.get_by_role("button", name="Check out").click()
    page.wait_for_url(re.compile(r"/console/orders/\d+/$"))


def _timeline(page) -> list[tuple[str, str, str]]:
    rows = page.locator("#timeline li").evaluate_all(
        "els => els.map(e => [e.dataset.step, e.dataset.status, e.dataset.kind])"
    )
    return [tuple(row) for row in rows]


def _saga_counts(live_server) -> tuple[int, int, int]:
    """(completed, failed payment_declined, failed) as the costs page reads them."""
    with urllib.request.urlopen(live_server.url + "/console/metrics.json", timeout=10) as answer:
        sagas = json.load(answer)["sagas"]
    declined = sum(f["count"] for f in sagas["failed"] if f["reason"] == "payment_declined")
    return sagas["completed"], declined, sum(f["count"] for f in sagas["failed"])


def test_a_checkout_from_the_page_completes_and_its_timeline_shows_the_four_steps(
    live_server, page, start_worker, settings
):
    worker = start_worker()
    # The costs page reads the worker's /metrics where the phase's worker serves them.
    settings.METRICS_PORTS = {**settings.METRICS_PORTS, "worker": worker.metrics_port}
    # What the processes had counted before (nothing, unless a phase's services ran sagas).
    before = _saga_counts(live_server)
    product = ProductFactory(name="Console lamp", stock=5, price=1250)
    _sign_up_and_fill_cart(page, live_server, product, "lamp-buyer")
    screenshot(page, "shop")
    _check_out(page, "pm_card_visa")
    page.wait_for_selector('#order[data-status="COMPLETED"]', state="attached", timeout=60_000)
    assert page.locator("#order-status").inner_text() == "COMPLETED"
    assert _timeline(page) == [(step, "SUCCEEDED", "step") for step in FORWARD]
    assert page.locator("#saga-step").inner_text() == "done"
    assert page.locator("#steps tbody tr").count() == 4
    screenshot(page, "order-completed")
    # and another shopper's card is declined
    declined_product = ProductFactory(name="Console fan", stock=5, price=800)
    _, declined_api = shopper((declined_product.pk, 1))
    declined_id = checkout(declined_api, "costs-declined", "pm_card_chargeDeclined")
    wait_for_orders([declined_id], workers=[worker])
    # What it cost, from the platform's own metrics.
    page.goto(live_server.url + "/console/costs/")
    page.wait_for_selector('#costs[data-readings="2"]', state="attached")
    completed, declined, failed = (n + 1 for n in before)
    outcomes = page.locator("#saga-outcomes li").all_inner_texts()
    assert outcomes[0] == f"COMPLETED: {completed}"
    assert f"FAILED payment_declined: {declined}" in outcomes
    assert page.locator("#fig-sagas-completed").inner_text() == str(completed)
    assert page.locator("#fig-sagas-failed").inner_text() == str(failed)
    assert re.fullmatch(
        r"[\d.]+ ms / [\d.]+ ms", page.locator("#fig-checkout-latency").inner_text()
    )
    for outcome in ("completed", "failed"):
        latency = page.locator(f"#fig-saga-latency-{outcome}").inner_text()
        assert re.fullmatch(r"[\d.]+ ms / [\d.]+ ms", latency), latency
    steps = page.locator("#saga-steps tbody tr").evaluate_all(
        "els => els.map(e => [e.dataset.step, e.dataset.outcome])"
    )
    assert ["charge_payment", "failed"] in steps and ["commit", "succeeded"] in steps
    assert int(page.locator("#fig-checkouts").inner_text()) >= 1
    assert page.locator("#fig-request-rate").inner_text().endswith("/s")
    assert page.locator("#fig-cache").inner_text().endswith("%")
    grpc_rows = page.locator("#grpc tbody tr").count()
    assert (grpc_rows > 0) == bool(settings.ECOMMERCE_PHASE.extracted)
    screenshot(page, "costs")


def test_a_declined_card_fails_the_order_and_shows_its_compensations(
    live_server, page, start_worker
):
    start_worker()
    product = ProductFactory(name="Console kettle", stock=5, price=900)
    _sign_up_and_fill_cart(page, live_server, product, "kettle-buyer")
    _check_out(page, "pm_card_chargeDeclined")
    page.wait_for_selector('#order[data-status="FAILED"]', state="attached", timeout=60_000)
    assert page.locator("#order-reason").inner_text() == "reason: payment_declined"
    timeline = _timeline(page)
    forward = [t for t in timeline if t[2] == "step"]
    compensations = [t[0] for t in timeline if t[2] == "compensation"]
    assert forward[-1][:2] == ("charge_payment", "FAILED")
    # Undone in reverse: what was done last is given back first.
    assert compensations[-2:] == ["release_stock", "release_cart"]
    assert {t[1] for t in timeline if t[2] == "compensation"} == {"SUCCEEDED"}
    screenshot(page, "order-declined")


def test_more_than_the_stock_is_refused_with_a_message(live_server, page):
    product = ProductFactory(name="Console clock", stock=1)
    page.goto(live_server.url + "/console/shop/")
    page.get_by_label("Username").fill("clock-buyer")
    page.get_by_label("Email (sign up only)").fill("clock@example.com")
    page.get_by_label("Password").fill("a-long-enough-password-1")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_selector("#who:has-text('signed in as')")
    page.get_by_label("Search").fill("Console clock")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector('#products[data-query*="search=Console"]', state="attached")
    card = page.locator(f'li.product[data-product-id="{product.pk}"]')
    card.get_by_label("Quantity").fill("3")
    card.get_by_role("button", name="Add Console clock to cart").click()
    message = page.locator(".message.error").first
    message.wait_for()
    assert "Add to cart: Only 1 of product" in message.inner_text()
    assert "(409 out_of_stock)" in message.inner_text()
    assert page.locator("#cart-empty").is_visible()


def test_a_service_down_is_a_503_message_not_a_blank_page(live_server, page, settings):
    # Phase 3 with no service listening where the edge looks for them.
    settings.ECOMMERCE_PHASE = parse(3)
    settings.GRPC_TARGETS = {app: f"127.0.0.1:{_unused_port()}" for app in settings.GRPC_TARGETS}
    resolver.reset()
    page.goto(live_server.url + "/console/shop/")
    message = page.locator(".message.error", has_text="Catalogue:")
    message.wait_for()
    assert "(503 service_unavailable)" in message.inner_text()
    assert page.locator("h1").inner_text() == "Shop"
    screenshot(page, "shop-service-down")


def test_api_errors_are_shown_as_messages(live_server, page):
    page.goto(live_server.url + "/console/shop/")
    page.get_by_label("Username").fill("nobody-here")
    page.get_by_label("Password").fill("wrong-password-123")
    page.get_by_role("button", name="Sign in").click()
    message = page.locator(".message.error").first
    message.wait_for()
    assert "Sign in:" in message.inner_text()
    assert re.search(r"\(4\d\d \w+\)", message.inner_text())


def test_the_console_fits_a_phone_screen_and_is_keyboard_navigable(live_server, phone):
    phone.goto(live_server.url + "/")
    print(f"\nconsole first render (phone): {first_render_ms(phone):.1f} ms")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent") == "Skip to content"
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent") == "Topology"
    screenshot(phone, "topology-phone")


def _sign_in(page, live_server, username, password):
    page.goto(live_server.url + "/console/shop/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(f"#who:has-text('signed in as {username}')")


def test_staff_see_the_analytics_summary_and_shoppers_are_refused(live_server, page):
    staff = UserFactory(username="console-staff", is_staff=True)
    staff.set_password("staff-password-123")
    staff.save()
    _sign_in(page, live_server, "console-staff", "staff-password-123")
    page.get_by_role("link", name="Staff").click()
    page.wait_for_selector('#staff[data-loaded="true"]', state="attached")
    assert page.locator("#fig-events").inner_text().isdigit()
    assert page.locator("#reasons li").first.inner_text().startswith("COMPLETED: ")
    href = page.locator("#admin-failed").get_attribute("href")
    assert href == "/admin/order/checkoutsaga/?state__exact=FAILED"

    shopper = UserFactory(username="console-shopper")
    shopper.set_password("shopper-password-123")
    shopper.save()
    _sign_in(page, live_server, "console-shopper", "shopper-password-123")
    page.goto(live_server.url + "/console/staff/")
    message = page.locator(".message.error", has_text="Analytics summary:")
    message.wait_for()
    assert "(403 " in message.inner_text()


def _make_stuck(order_id: int, settings) -> None:
    long_ago = timezone.now() - timedelta(seconds=settings.SAGA_STUCK_SECONDS + 60)
    CheckoutSaga.objects.filter(order_id=order_id).update(updated_at=long_ago)


def test_staff_see_the_failed_and_stuck_sagas_live_with_their_admin_pages(
    live_server, page, start_worker, settings
):
    # given: a checkout declined by the card, run to FAILED by a real worker
    worker = start_worker()
    product = ProductFactory(name="Console toaster", stock=10, price=600)
    _, declined_api = shopper((product.pk, 1))
    declined_id = checkout(declined_api, "console-declined", "pm_card_chargeDeclined")
    wait_for_orders([declined_id], workers=[worker])
    worker.stop()
    # and one whose saga has not moved for longer than the stuck threshold
    _, stuck_api = shopper((product.pk, 1))
    stuck_id = checkout(stuck_api, "console-stuck")
    _make_stuck(stuck_id, settings)
    staff = UserFactory(username="saga-staff", is_staff=True, is_superuser=True)
    staff.set_password("staff-password-123")
    staff.save()
    # when
    _sign_in(page, live_server, "saga-staff", "staff-password-123")
    page.goto(live_server.url + "/console/staff/")
    page.wait_for_selector('#sagas[data-loaded="true"]', state="attached")
    # then
    failed = page.locator(f'#sagas-failed tr[data-order-id="{declined_id}"]')
    assert "payment_declined" in failed.inner_text()
    stuck = page.locator(f'#sagas-stuck tr[data-order-id="{stuck_id}"]')
    assert stuck.get_attribute("data-stuck") == "true"
    assert "RUNNING (stuck)" in stuck.inner_text()
    in_admin = admin.site.is_registered(CheckoutSaga)
    saga_ids = {o: CheckoutSaga.objects.get(order_id=o).pk for o in (declined_id, stuck_id)}
    for row, order_id in ((failed, declined_id), (stuck, stuck_id)):
        if in_admin:
            assert row.locator("a.admin-link").get_attribute("href") == (
                f"/admin/order/checkoutsaga/{saga_ids[order_id]}/change/"
            )
        else:  # an edge without the order's database leaves its models out of the admin
            assert "not in this edge's admin" in row.inner_text()
    assert page.locator("#sagas-failed-count").inner_text() == "(1)"
    assert page.locator("#sagas-compensating tbody").inner_text() == "none"
    # and a saga that gets stuck while the page is open shows up without a reload
    _, later_api = shopper((product.pk, 1))
    later_id = checkout(later_api, "console-later")
    _make_stuck(later_id, settings)
    page.wait_for_selector(f'#sagas-stuck tr[data-order-id="{later_id}"]', timeout=15_000)
    page.wait_for_selector('#staff[data-loaded="true"]', state="attached")
    screenshot(page, "staff")
    if not in_admin:
        return
    # and the admin link opens the saga's page there, once signed in to the admin
    stuck.locator("a.admin-link").click()
    page.get_by_label("Username:").fill("saga-staff")
    page.get_by_label("Password:").fill("staff-password-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(rf"/admin/order/checkoutsaga/{saga_ids[stuck_id]}/change/$"))
    assert f"saga of order {stuck_id}" in page.content()


def test_a_real_service_stopped_shows_down_and_up_again(live_server, page, settings):
    from tests.fixtures.remote_phase import _running

    if "cart" not in _running:
        pytest.skip("needs a phase whose cart runs as a service (PHASE=1..3)")
    cart = _running["cart"]
    cart.stop()
    try:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#health-cart.down", state="attached")
        assert page.locator("#health-text-cart").inner_text() == "down"
        page.wait_for_selector("#health-monolith.up", state="attached")
        assert page.locator("#processes tbody tr").count() >= 2
    finally:
        cart.start(60)
    page.reload()
    page.wait_for_selector("#health-cart.up", state="attached")


def test_the_timeline_follows_a_saga_while_it_runs(live_server, page, start_worker):
    # The checkout is placed while no worker runs: the saga waits at its first step.
    product = ProductFactory(name="Console radio", stock=5, price=700)
    _sign_up_and_fill_cart(page, live_server, product, "radio-buyer")
    _check_out(page, "pm_card_visa")
    page.wait_for_selector('#order[data-status="PENDING"]', state="attached")
    assert page.locator("#saga-step").inner_text() == "reserve_cart"
    # Then a worker comes up, and the same page, not reloaded, shows it finish.
    start_worker()
    page.wait_for_selector('#order[data-status="COMPLETED"]', state="attached", timeout=60_000)
    assert [t[0] for t in _timeline(page)] == FORWARD


def _parallel_run(live_server) -> dict:
    """The shadow's row for product.get and the catalogue's cut-over row, as metrics.json has them."""
    with urllib.request.urlopen(live_server.url + "/console/metrics.json", timeout=10) as answer:
        run = json.load(answer)["parallel_run"]
    shadowed = [r for r in run["shadow"] if (r["service"], r["operation"]) == ("product", "get")]
    routed = [r for r in run["cutover"] if r["service"] == "product"]
    return {
        **dict.fromkeys(("calls", "mismatches", "errors", "dropped"), 0),
        **{"local": 0, "remote": 0},
        **(shadowed[0] if shadowed else {}),
        **({k: routed[0][k] for k in ("local", "remote")} if routed else {}),
    }


def figure(row, name: str) -> str:
    return row.locator(f'[data-figure="{name}"]').inner_text()


def test_the_costs_page_shows_the_shadow_and_the_cut_over_live(
    live_server,
    page,
    settings,
    start_service,  # noqa: F811
):
    if settings.ECOMMERCE_PHASE.extracted:
        pytest.skip("the parallel run compares an in-process catalogue with its service: phase 0")
    # given: the catalogue served beside the monolith, shadowed and cut over at 50 %, and no
    # worker's /metrics (another process's counts) among what the page reads
    products = [ProductFactory(price=900 + n) for n in range(3)]
    service = start_service("product", phase="0")
    settings.METRICS_PORTS = {**settings.METRICS_PORTS, "worker": _unused_port()}
    settings.SHADOW, settings.CUTOVER, settings.CUTOVER_REFRESH_SECONDS = (
        ("product",),
        {"product": 50},
        0,
    )
    resolver.reset()
    before = _parallel_run(live_server)
    users = range(1, 21)
    remote = [u for u in users if cutover.bucket(cutover.user_key(u)) < 50]
    local = [u for u in users if u not in remote]
    assert remote and local
    # when: each user reads a product (the in-process users' reads are compared), then the
    # service stops and one more in-process read finds it gone
    for user in users:
        with resolver.routed_as(user_id=user):
            assert resolver.product().get(products[user % 3].pk).price == 900 + user % 3
    assert shadow.wait_idle(20)
    service.stop()
    with resolver.routed_as(user_id=local[0]):
        resolver.product().get(products[0].pk)
    assert shadow.wait_idle(30)
    # then: the page shows what the metrics counted
    page.goto(live_server.url + "/console/costs/")
    page.wait_for_selector('#costs[data-readings="2"]', state="attached")
    row = page.locator('#shadow tr[data-service="product"][data-operation="get"]')
    assert figure(row, "calls") == str(before["calls"] + len(local))
    assert figure(row, "mismatches") == str(before["mismatches"])
    assert figure(row, "errors") == str(before["errors"] + 1)
    assert figure(row, "dropped") == str(before["dropped"])
    cut = page.locator('#cutover tr[data-service="product"]')
    assert figure(cut, "share") == "50 %"
    assert figure(cut, "local") == str(before["local"] + len(local) + 1)
    assert figure(cut, "remote") == str(before["remote"] + len(remote))
    assert figure(cut, "remote-ratio").endswith(" %")
    assert page.locator("#shadow-none").is_hidden() and page.locator("#cutover-none").is_hidden()
    screenshot(page, "costs-parallel-run")
