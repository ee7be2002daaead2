"""The image: multi-stage, slim Python of the project's version, non-root, the project's runtime
dependencies only, every package of the code in it, static files collected, a health check."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib

from tests.deploy.compose import DOCKER, phase_model
from tests.deploy.procfile import ROOT

DOCKERFILE = (DOCKER / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last:]


def test_the_image_is_built_in_stages_on_the_slim_python_the_project_requires():
    # given
    steps = _instructions()
    args = dict(rest.split("=", 1) for word, rest in steps if word == "ARG" and "=" in rest)
    bases = [rest.split()[0] for word, rest in steps if word == "FROM"]
    # then
    assert len(bases) >= 2
    assert PYPROJECT["project"]["requires-python"] == f">={args['PYTHON_VERSION']}"
    assert all(base == "python:${PYTHON_VERSION}-slim-bookworm" for base in bases)
    assert any(word == "COPY" and rest.startswith("--from=") for word, rest in _final_stage())


def test_it_installs_the_runtime_dependencies_not_the_dev_extra():
    runs = " ".join(rest for word, rest in _instructions() if word == "RUN")
    assert re.search(r"pip install \.(\s|$)", runs)
    assert "[dev]" not in DOCKERFILE


def test_it_runs_as_a_user_that_is_not_root():
    users = [rest for word, rest in _final_stage() if word == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}


def test_every_package_of_the_code_is_copied_in_and_none_is_ignored():
    # given: the code's top-level packages, as import-linter knows them, and the entry point
    needed = set(PYPROJECT["tool"]["importlinter"]["root_packages"]) | {"manage.py"}
    copied = set()
    for word, rest in _final_stage():
        if word == "COPY" and not rest.startswith("--from="):
            copied.update(p.rstrip("/") for p in rest.split()[:-1] if not p.startswith("--"))
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # then
    assert needed <= copied
    for path in needed | {"pyproject.toml"}:
        assert not any(fnmatch.fnmatch(path, pattern) for pattern in ignored), path
    assert {".git", ".venv", "node_modules", "var"} <= set(ignored)


def test_static_files_are_collected_and_the_web_process_is_checked_on_healthz():
    runs = " ".join(rest for word, rest in _final_stage() if word == "RUN")
    assert "manage.py collectstatic --noinput" in runs
    (check,) = [rest for word, rest in _final_stage() if word == "HEALTHCHECK"]
    assert "/healthz" in check


def test_the_image_runs_the_web_process_by_default():
    (cmd,) = [rest for word, rest in _final_stage() if word == "CMD"]
    assert json.loads(cmd) == phase_model(0)["services"]["web"]["command"]
