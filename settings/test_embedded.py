"""Tests in embedded mode: the SQLite files, filesystem broker and file cache of `make run`.

Everything lives in a scratch var dir made once per test run (`make test-embedded`); the
processes a test starts (workers, servers) inherit it through ECOMMERCE_TEST_VAR_DIR and so open
the same database files, broker folders and cache.
"""

import atexit
import os
import shutil
import tempfile

if not os.environ.get("ECOMMERCE_TEST_VAR_DIR"):
    os.environ["ECOMMERCE_TEST_VAR_DIR"] = tempfile.mkdtemp(prefix="ecommerce-embedded-")
    # Only the process that made it removes it.
    atexit.register(shutil.rmtree, os.environ["ECOMMERCE_TEST_VAR_DIR"], ignore_errors=True)
os.environ["ECOMMERCE_VAR_DIR"] = os.environ["ECOMMERCE_TEST_VAR_DIR"]
os.environ["ECOMMERCE_MODE"] = "embedded"
# Celery takes CELERY_BROKER_URL from the environment over any setting: the broker here is the
# filesystem one, in the scratch directory, for this process and every one it starts.
os.environ.pop("CELERY_BROKER_URL", None)

from settings.embedded import *  # noqa: E402, F403
from settings.embedded import DATABASES  # noqa: E402

for _config in DATABASES.values():
    if _config:
        # The test run's database is the scratch file itself, so its children open it too.
        _config["TEST"] = {"NAME": str(_config["NAME"])}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
# As in settings.test: the suites sign up and check out far faster than any person; the throttle
# tests turn each limit on themselves.
THROTTLE_RATES = env.dict("TEST_THROTTLE_RATES", default={})  # noqa: F405
