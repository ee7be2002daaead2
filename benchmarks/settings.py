"""Benchmark settings: services mode, plus a URLconf that adds the bare Django floor endpoint."""

from settings.services import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
# A benchmark's few users sign in and check out far faster than any person would: what it
# measures is the platform, not the abuse limits (tests/platform/test_throttling.py tests those).
THROTTLE_RATES = {}  # noqa: F405
