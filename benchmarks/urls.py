"""The platform's URLs plus the floors: bare views, in the same process and middleware."""

import json

from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django_redis import get_redis_connection
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmarks import saga_floor
from ecommerce.urls import handler400, handler403, handler404, handler500  # noqa: F401
from ecommerce.urls import urlpatterns as platform_urlpatterns

# A body the size and shape of a product detail, so the floor serialises as much JSON.
FLOOR_BODY = {
    "id": 1,
    "sku": "COF-1001",
    "name": "Ethiopia Yirgacheffe",
    "description": "Ethiopia Yirgacheffe, from our coffee range.",
    "price": 1850,
    "currency": "USD",
    "category": "coffee",
    "available": True,
}


def floor(request):
    """What Django itself costs: URL routing, the middleware stack and a JsonResponse."""
    return JsonResponse(FLOOR_BODY)


def floor_with_redis(request):
    """The floor plus what a cache hit costs at least: one MGET of three keys from Redis."""
    cache.get_many(["bench:a", "bench:b", "bench:c"])
    return JsonResponse(FLOOR_BODY)


_FLOOR_BYTES = json.dumps(FLOOR_BODY).encode()


def floor_with_raw_redis(request):
    """The least any Redis-backed hit can cost: a plain view, one raw MGET (redis-py with
    hiredis, no cache framework), and a body already rendered to bytes."""
    get_redis_connection("default").mget(["bench:a", "bench:b", "bench:c"])
    return HttpResponse(_FLOOR_BYTES, content_type="application/json")


class FloorThroughDrf(APIView):
    """The floor through DRF's APIView, configured like the catalogue's views."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request):
        return Response(FLOOR_BODY)


class FloorCartApi(APIView):
    """The saga floor's add to cart: token authentication, as the real API, and one write."""

    def post(self, request):
        saga_floor.cart_add(user_id=request.user.pk)
        return Response({"ok": True}, status=201)


class FloorCheckoutApi(APIView):
    """The saga floor's checkout: one write, and the first message once it is committed."""

    def post(self, request):
        order_id = saga_floor.checkout(user_id=request.user.pk)
        return Response({"order_id": order_id, "status": "PENDING"}, status=201)


_PAGE_HEAD = (
    b'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Floor</title>'
    b'<link rel="icon" href="data:,"></head><body><main><h1>A static page</h1>\n'
)
_PAGE_TAIL = b"</main></body></html>\n"
_PARAGRAPH = b"<p>The same bytes as a console view, with nothing to fetch before it paints.</p>\n"


_STYLESHEET = b'<link rel="stylesheet" href="/static/console/console.css">'


def static_page(request):
    """The console benchmark's floor: plain HTML of `bytes` bytes, no script, and no stylesheet
    unless `?stylesheet=1` (then the console's, as its pages link it)."""
    size = min(max(int(request.GET.get("bytes", "4096") or 0), 0), 1_000_000)
    head = _PAGE_HEAD
    if request.GET.get("stylesheet") == "1":
        head = head.replace(b"</head>", _STYLESHEET + b"</head>")
    body = _PARAGRAPH * (max(size - len(head) - len(_PAGE_TAIL), 0) // len(_PARAGRAPH) + 1)
    filler = body[: max(size - len(head) - len(_PAGE_TAIL), 0)]
    # Cut on a tag's end, so the page stays well formed.
    filler = filler[: filler.rfind(b"\n") + 1] if b"\n" in filler else b""
    page = head + filler + _PAGE_TAIL
    return HttpResponse(page + b" " * max(size - len(page), 0), content_type="text/html")


urlpatterns = [
    path("bench/static-page", static_page, name="bench-static-page"),
    path("bench/saga-floor/cart", FloorCartApi.as_view(), name="bench-saga-floor-cart"),
    path("bench/saga-floor/checkout", FloorCheckoutApi.as_view(), name="bench-saga-floor-checkout"),
    path("bench/floor", floor, name="bench-floor"),
    path("bench/floor-redis", floor_with_redis, name="bench-floor-redis"),
    path("bench/floor-drf", FloorThroughDrf.as_view(), name="bench-floor-drf"),
    path("bench/floor-raw-redis", floor_with_raw_redis, name="bench-floor-raw-redis"),
    *platform_urlpatterns,
]
