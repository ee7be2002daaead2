"""Browser fixtures: Playwright driving Debian's Chromium against a live edge."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.saga.conftest import clean_broker, start_worker  # noqa: F401  (the saga's real worker)

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make between
# browser steps are plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
# `make screenshots` sets this to docs/console: the tests then save their views there.
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS", "")


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    """Save the page as docs/console/<name>.png when screenshots are asked for."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def first_render_ms(page) -> float:
    """Navigation start to the first contentful paint (or DOMContentLoaded), in ms."""
    return page.evaluate(
        """() => {
            const paint = performance.getEntriesByName("first-contentful-paint")[0];
            if (paint) return paint.startTime;
            return performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd;
        }"""
    )
