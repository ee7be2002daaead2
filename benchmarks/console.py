"""The journey console's first render: first contentful paint of each main view, in Chromium.

Seeds the demo catalogue (`seed_demo`) in a scratch PostgreSQL database (dropped afterwards),
starts gunicorn in services mode as the catalogue benchmark does, and opens each view in a fresh
browser context (a first visit: nothing cached) through Playwright, several times, the views
interleaved. Per view it prints p50 and p90 of the first contentful paint and, to say where the
time goes, of the server's part (request sent to the last byte of the HTML received) and of the
document's size and its blocking assets. The floor: a static page of the same size from the same
server (`/bench/static-page`: the same bytes of plain HTML, no stylesheet, no script), and the
same page with the console's stylesheet, the one asset that blocks its render.

    python -m benchmarks.console [--runs 10] [--port 0] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.catalogue import gunicorn, platform_env, run, scratch_database

CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
VIEWS = (
    ("topology", "/"),
    ("shop", "/console/shop/"),
    ("orders", "/console/orders/"),
    ("order", "/console/orders/1/"),
    ("costs", "/console/costs/"),
    ("staff", "/console/staff/"),
    ("journey", "/console/docs/journey/"),
)

# What one page load took, read from the browser's own timing entries (ms from navigation start).
TIMING = """async () => {
    if (!performance.getEntriesByName("first-contentful-paint").length) {
        await new Promise((resolve) => new PerformanceObserver((list, observer) => {
            if (list.getEntriesByName("first-contentful-paint").length) {
                observer.disconnect();
                resolve();
            }
        }).observe({ type: "paint", buffered: true }));
    }
    const nav = performance.getEntriesByType("navigation")[0];
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const blocking = performance.getEntriesByType("resource")
        .filter((r) => r.renderBlockingStatus === "blocking");
    return {
        fcp: paint ? paint.startTime : null,
        request_start: nav.requestStart,
        response_start: nav.responseStart,
        response_end: nav.responseEnd,
        dom_content_loaded: nav.domContentLoadedEventEnd,
        bytes: nav.decodedBodySize,
        blocking: blocking.length,
        // When the last render-blocking asset had arrived (the HTML's end when there is none).
        blocking_end: Math.max(nav.responseEnd, ...blocking.map((r) => r.responseEnd)),
    };
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load(browser, url: str) -> dict:
    """One first visit: a fresh context, the page until its first contentful paint."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        return page.evaluate(TIMING)
    finally:
        context.close()


def measure(browser, base: str, runs: int) -> dict[str, list[dict]]:
    sizes = {name: load(browser, base + path)["bytes"] for name, path in VIEWS}  # and warm-up
    targets = [(name, base + path) for name, path in VIEWS]
    for name, _ in VIEWS:
        floor = f"{base}/bench/static-page?bytes={sizes[name]}"
        targets += [
            (f"floor: {name}", floor),
            (f"floor: {name} + stylesheet", floor + "&stylesheet=1"),
        ]
    samples: dict[str, list[dict]] = {name: [] for name, _ in targets}
    for _ in range(runs):  # interleaved: whatever else the machine does falls on all alike
        for name, url in targets:
            samples[name].append(load(browser, url))
    return samples


def report(samples: dict[str, list[dict]], runs: int) -> None:
    print(
        f"{'view':<30} {'FCP p50':>8} {'FCP p90':>8} {'TTFB p50':>9} {'HTML p50':>9} "
        f"{'assets p50':>11} {'bytes':>7} {'blocking':>9}"
    )
    for name, rows in samples.items():
        fcp = [r["fcp"] for r in rows]
        first_byte = [r["response_start"] - r["request_start"] for r in rows]
        html = [r["response_end"] for r in rows]
        assets = [r["blocking_end"] for r in rows]
        print(
            f"{name:<30} {percentile(fcp, 0.5):>6.0f}ms {percentile(fcp, 0.9):>6.0f}ms "
            f"{percentile(first_byte, 0.5):>7.1f}ms {percentile(html, 0.5):>7.1f}ms "
            f"{percentile(assets, 0.5):>9.1f}ms {rows[0]['bytes']:>7} {rows[0]['blocking']:>9}"
        )
    print(
        f"\n{runs} first visits per view (a fresh browser context each), interleaved. From "
        "navigation start: FCP, the first contentful paint; HTML, its last byte received; "
        "assets, the last render-blocking stylesheet or script received. TTFB: request sent "
        "to the HTML's first byte (the server's time). blocking: how many assets block the "
        "render."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="first visits per view (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: any free)")
    args = parser.parse_args()
    if not shutil.which(CHROMIUM):
        sys.exit(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    postgres = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    workdir = Path(tempfile.mkdtemp(prefix="console-bench-"))
    started = time.monotonic()
    try:
        with scratch_database(postgres) as database_url:
            env = platform_env(database_url, redis_url, workdir)
            env["CACHE_KEY_PREFIX"] = f"console-bench{os.getpid()}"
            print(f"seeding the demo catalogue in {database_url.rsplit('/', 1)[1]} ...", flush=True)
            run([sys.executable, "manage.py", "migrate_all", "-v0"], env)
            run([sys.executable, "manage.py", "seed_demo"], env)
            run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env)
            log = workdir / "gunicorn.log"
            with gunicorn(env, args.workers, 1, log, port=args.port) as base:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=CHROMIUM, args=["--no-sandbox"]
                    )
                    try:
                        samples = measure(browser, base, args.runs)
                    finally:
                        browser.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(samples, args.runs)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; gunicorn {args.workers} sync workers, services mode; "
        f"Chromium headless over loopback; {time.monotonic() - started:.0f}s in all"
    )


if __name__ == "__main__":
    main()
