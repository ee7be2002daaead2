"""The console's pages. They render the phase's topology on the server; everything about
products, carts and orders the browser reads and changes through the public REST API."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import markdown
from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ecommerce.console import figures, graph, health
from ecommerce.wiring import resolver

# The saga's steps, as the orders API names them (apps/order/checkout_saga.py).
FORWARD_STEPS = ("reserve_cart", "hold_stock", "charge_payment", "commit")
COMPENSATIONS = ("refund_payment", "release_stock", "release_cart")


# The pages of the journey the console renders: docs/journey.md, the pages it links to, each
# phase's page, and how one service is extracted safely (docs/parallel-run.md).
DOCS = {
    **{
        name: settings.BASE_DIR / "docs" / f"{name}.md"
        for name in ("journey", "architecture", "database", "performance")
    },
    **{f"phase{n}": settings.BASE_DIR / "phases" / f"phase{n}.md" for n in range(4)},
    "parallel-run": settings.BASE_DIR / "docs" / "parallel-run.md",
}
_HREF = re.compile(r'href="([^"#:]+\.md)(#[^"]*)?"')


def _console_links(html: str, page: Path) -> str:
    """Links between the pages the console renders point at their console pages, not at the
    Markdown files beside them (which it does not serve)."""
    names = {path.resolve(): name for name, path in DOCS.items()}

    def link(match: re.Match) -> str:
        name = names.get((page.parent / match[1]).resolve())
        if name is None:
            return match[0]
        return f'href="{reverse("console-doc", args=[name])}{match[2] or ""}"'

    return _HREF.sub(link, html)


def _topology() -> graph.Topology:
    return graph.build(resolver.current_phase())


@require_GET
def topology_page(request):
    topology = _topology()
    return render(
        request,
        "console/topology.html",
        {
            "nav": "topology",
            "topology": topology,
            "svg": graph.svg(topology),
            "mode": settings.ECOMMERCE_MODE,
            "docs": [name for name, path in DOCS.items() if path.exists()],
        },
    )


@require_GET
def topology_json(request):
    return JsonResponse(_topology().as_json())


@require_GET
def health_json(request):
    return JsonResponse({"processes": health.check(_topology(), request)})


@require_GET
def shop_page(request):
    return render(request, "console/shop.html", {"nav": "shop"})


@require_GET
def orders_page(request):
    return render(request, "console/orders.html", {"nav": "orders"})


@require_GET
def order_page(request, order_id: int):
    return render(
        request,
        "console/order.html",
        {
            "nav": "orders",
            "order_id": order_id,
            "forward_steps": FORWARD_STEPS,
            "compensations": COMPENSATIONS,
            "jaeger_url": getattr(settings, "JAEGER_UI_URL", "") or "",
        },
    )


@require_GET
def costs_page(request):
    topology = _topology()
    return render(request, "console/costs.html", {"nav": "costs", "topology": topology})


@require_GET
def metrics_json(request):
    return JsonResponse({"phase": resolver.current_phase().name, **figures.collect(_topology())})


# The staff page's saga lists (GET /api/orders/sagas?state=...) and the admin's matching filter.
SAGA_LISTS = (
    ("failed", "Failed", "/admin/order/checkoutsaga/?state__exact=FAILED"),
    ("stuck", "Stuck", "/admin/order/checkoutsaga/?state__exact=RUNNING"),
    ("compensating", "Compensating", "/admin/order/checkoutsaga/?state__exact=COMPENSATING"),
)


@require_GET
def staff_page(request):
    return render(
        request,
        "console/staff.html",
        {
            "nav": "staff",
            "saga_lists": [{"state": s, "title": t, "admin": a} for s, t, a in SAGA_LISTS],
            "stuck_seconds": settings.SAGA_STUCK_SECONDS,
        },
    )


@functools.lru_cache(maxsize=len(DOCS))
def _rendered(path: Path, modified_ns: int) -> str:
    """A page rendered once per version of its file: Markdown costs tens of milliseconds."""
    html = markdown.markdown(path.read_text(), extensions=["tables", "fenced_code", "toc"])
    return _console_links(html, path)


@require_GET
def doc_page(request, name: str):
    path = DOCS.get(name)
    if path is None or not path.exists():
        raise Http404(name)
    html = _rendered(path, path.stat().st_mtime_ns)
    return render(request, "console/doc.html", {"nav": "journey", "name": name, "html": html})
