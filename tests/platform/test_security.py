"""Production's security: `check --deploy` clean, HTTPS enforced with HSTS and secure cookies,
and a content security policy that the pages served (Swagger UI, the admin) keep."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
STATIC = "/static/"


def _production_env(**extra: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "settings.production",
        "ECOMMERCE_MODE": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "STRIPE_SECRET_KEY": "sk_live_sample",
        "STRIPE_WEBHOOK_SECRET": "whsec_sample",
        "KAFKA_BOOTSTRAP_SERVERS": "kafka.internal:9092",
        "SERVICE_TOKEN": secrets.token_urlsafe(32),
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        **extra,
    }


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=_production_env(ECOMMERCE_VAR_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


_REQUESTS = """
import json, django
django.setup()
from django.contrib.staticfiles import finders
from django.test import Client
client = Client(HTTP_HOST="shop.example.com")
seen = {}
for name, path, secure in [("plain", "/api/products", False), ("probe", "/healthz", False),
                           ("docs", "/api/docs/", True), ("login", "/admin/login/", True)]:
    response = client.get(path, secure=secure)
    seen[name] = {
        "status": response.status_code,
        "location": response.get("Location"),
        "headers": {k.lower(): v for k, v in response.headers.items()},
        "cookies": {k: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"])}
                    for k, m in response.cookies.items()},
    }
print(json.dumps(seen))
"""


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_production_serves_https_only_with_hsts_and_secure_cookies(tmp_path):
    # when: requests to a process on the production settings
    done = subprocess.run(
        [sys.executable, "-c", _REQUESTS],
        cwd=ROOT,
        env=_production_env(ECOMMERCE_VAR_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # then: plain HTTP is sent to HTTPS, but the probes answer where they are
    assert seen["plain"]["status"] == 301
    assert seen["plain"]["location"] == "https://shop.example.com/api/products"
    assert seen["probe"]["status"] == 200
    # and over HTTPS: HSTS for a year, subdomains too; the usual hardening headers
    docs = seen["docs"]["headers"]
    assert seen["docs"]["status"] == 200
    assert docs["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert docs["x-content-type-options"] == "nosniff"
    assert docs["x-frame-options"] == "DENY"
    assert docs["referrer-policy"] == "same-origin"
    assert "script-src 'self'" in docs["content-security-policy"]
    # and the cookies the admin sets go over HTTPS only
    login = seen["login"]
    assert login["status"] == 200
    assert login["cookies"]["csrftoken"]["secure"] is True
    assert seen["login"]["headers"]["content-security-policy"] == docs["content-security-policy"]


def test_the_ssl_redirect_can_be_left_to_a_proxy_in_front(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import "
            "settings; print(settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS)",
        ],
        cwd=ROOT,
        env=_production_env(
            ECOMMERCE_VAR_DIR=str(tmp_path),
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_SECURE_HSTS_SECONDS="3600",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == ["False", "3600"], done.stderr


# --- the content security policy, and pages that keep it ------------------------------------


class _Page(HTMLParser):
    """What a page loads and what it has inline."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if any(name.startswith("on") for name in attrs):
            self.inline.append(f"<{tag}> event handler")
        if "style" in attrs:
            self.inline.append(f"<{tag} style=...>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            if attrs.get("src"):
                self.loads.append(attrs["src"])
            elif attrs.get("type") not in {"application/json"}:
                self._in_script = True
        if tag == "link" and attrs.get("href"):
            self.loads.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.loads.append(attrs["src"])

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append("<script> inline")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def _policy(response) -> dict[str, set[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: set(values)
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize(
    "path",
    [
        "/api/docs/",
        "/admin/login/",
        "/admin/",
        "/admin/product/product/",
        "/admin/product/product/add/",
        "/admin/payment/payment/",
        "/admin/auth/user/",
    ],
)
def test_every_page_keeps_the_content_security_policy(path):
    # given: staff, for the admin's pages (the login page is for the signed-out)
    client = Client()
    if path != "/admin/login/":
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
    # when
    response = client.get(path)
    # then: the policy allows this origin only, nothing inline
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == {"'self'"}
    assert policy["script-src"] == {"'self'"} and policy["style-src"] == {"'self'"}
    assert policy["frame-ancestors"] == {"'none'"} and policy["object-src"] == {"'none'"}
    page = _Page()
    page.feed(response.content.decode())
    assert page.inline == [], page.inline
    # and everything it loads is of this origin and served: a static file that exists, or a
    # page of ours
    assert page.loads
    for url in page.loads:
        assert url.startswith("/") and not url.startswith("//"), url
        if url.startswith(STATIC):
            found = finders.find(url.removeprefix(STATIC).split("?")[0])
            assert found, url
            if url.endswith(".css"):
                _assert_stylesheet_loads_only_what_the_policy_allows(Path(found).read_text())
        else:
            assert client.get(url.replace("&amp;", "&")).status_code == 200, url


def _assert_stylesheet_loads_only_what_the_policy_allows(css: str) -> None:
    for ref in re.findall(r"url\(([^)]*)\)", css):
        ref = ref.strip("'\" ")
        assert ref.startswith("data:") or "://" not in ref, ref[:60]
