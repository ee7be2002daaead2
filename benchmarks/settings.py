"""Benchmark settings: services mode, plus a URLconf that adds the bare Django floor endpoint."""

from settings.services import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
