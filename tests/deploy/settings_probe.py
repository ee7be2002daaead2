"""The settings a process would build from a given environment, read in a clean interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.deploy.procfile import ROOT

_PROBE = (
    "import json, importlib, os; "
    "s = importlib.import_module('settings.' + os.environ['ECOMMERCE_MODE']); "
    "print(json.dumps({'databases': {a: c.get('NAME') for a, c in s.DATABASES.items()}, "
    "'schemas': {a: c.get('SCHEMA') for a, c in s.DATABASES.items()}, "
    "'extracted': sorted(s.ECOMMERCE_PHASE.extracted), 'grpc': s.GRPC_TARGETS, "
    "'broker': s.CELERY_BROKER_URL, 'kafka': s.KAFKA_BOOTSTRAP_SERVERS, 'debug': s.DEBUG}))"
)


def settings_for(env: dict[str, str], var_dir) -> dict:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ECOMMERCE_VAR_DIR": str(var_dir)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
