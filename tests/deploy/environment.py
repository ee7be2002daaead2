"""The environment variable names the project's code reads (settings, commands, entry points),
and those of the OpenTelemetry specification, which the SDK reads for it (ecommerce/observability/tracing.py)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("settings", "ecommerce", "apps", "phases", "stripe_local", "manage.py")

_READS = (
    # django-environ: env.str("NAME", ...), environ.Env().str("NAME", ...)
    r'\.(?:str|int|bool|list|float|json|url|db_url|path)\(\s*"([A-Z][A-Z0-9_]*)"',
    r'os\.environ\.get\(\s*"([A-Z][A-Z0-9_]*)"',
    r'os\.environ\[\s*"([A-Z][A-Z0-9_]*)"\s*\]',
    r'os\.getenv\(\s*"([A-Z][A-Z0-9_]*)"',
)
# A name built per app: env.str(f"{alias.upper()}_DATABASE_URL", ...).
_TEMPLATED = r'\.(?:str|int|bool|list|float)\(\s*f"\{\w+\.upper\(\)\}(_[A-Z0-9_]+)"'


def _python_files():
    for source in SOURCES:
        path = ROOT / source
        if path.is_file():
            yield path
        else:
            yield from (p for p in path.rglob("*.py") if "/gen/" not in p.as_posix())


def opentelemetry_names() -> set[str]:
    """The `OTEL_*` variables the OpenTelemetry API and SDK name and read."""
    import opentelemetry.environment_variables as api
    import opentelemetry.sdk.environment_variables as sdk

    return {
        value
        for module in (api, sdk)
        for key, value in vars(module).items()
        if key.startswith("OTEL_") and isinstance(value, str)
    }


@cache
def names_read() -> frozenset[str]:
    from django.conf import settings

    # Which apps each templated name is built for (settings.base's loops).
    per_app = {
        "_DATABASE_URL": settings.SERVICE_ALIASES,
        "_GRPC_TARGET": tuple(settings.GRPC_PORTS),
    }
    names: set[str] = set()
    for path in _python_files():
        text = path.read_text()
        for pattern in _READS:
            names.update(re.findall(pattern, text))
        for suffix in re.findall(_TEMPLATED, text):
            assert suffix in per_app, f"{path}: a name built per app, for which apps? {suffix}"
            names.update(f"{app.upper()}{suffix}" for app in per_app[suffix])
    return frozenset(names | opentelemetry_names())
