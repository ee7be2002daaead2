"""The image: multi-stage, slim Python of the project's version, non-root, the project's runtime
dependencies only, every package of the code in it, static files collected, a health check.
The Dockerfile is read with BuildKit's own parser (the `dockerfile` package)."""

from __future__ import annotations

import fnmatch
import tomllib

import dockerfile

from tests.deploy.compose import DOCKER, phase_model
from tests.deploy.kustomize import render
from tests.deploy.procfile import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
INSTRUCTIONS = dockerfile.parse_file(str(DOCKER / "Dockerfile"))


def _final_stage() -> list[dockerfile.Command]:
    last = max(i for i, step in enumerate(INSTRUCTIONS) if step.cmd == "FROM")
    return list(INSTRUCTIONS[last:])


def _of(kind: str, steps=INSTRUCTIONS) -> list[dockerfile.Command]:
    return [step for step in steps if step.cmd == kind]


def test_the_image_is_built_in_stages_on_the_slim_python_the_project_requires():
    # given
    args = dict(step.value[0].split("=", 1) for step in _of("ARG") if "=" in step.value[0])
    bases = [step.value[0] for step in _of("FROM")]
    # then
    assert len(bases) >= 2
    assert PYPROJECT["project"]["requires-python"] == f">={args['PYTHON_VERSION']}"
    assert all(base == "python:${PYTHON_VERSION}-slim-bookworm" for base in bases)
    assert any(step.flags and step.flags[0].startswith("--from=") for step in _of("COPY"))


def test_it_installs_the_runtime_dependencies_not_the_dev_extra():
    runs = [step.value[0] for step in _of("RUN")]
    assert any(run.split() == ["pip", "install", "."] for run in runs)
    assert not any("[dev]" in run for run in runs)


def test_it_runs_as_a_numeric_user_that_is_not_root_and_is_the_pods_user():
    # given
    (user,) = _of("USER", _final_stage())
    uid = user.value[0].split(":")[0]
    pods = [
        doc["spec"]["template"]["spec"]["securityContext"]
        for doc in render(DOCKER / "k8s/overlays/phase3")
        if doc["kind"] in {"Deployment", "Job"}
        # Jaeger and the exporters run their own images, as their own users.
        and doc["metadata"]["labels"].get("app.kubernetes.io/component") != "observability"
    ]
    # then
    assert uid.isdigit() and int(uid) != 0
    assert {pod["runAsUser"] for pod in pods} == {int(uid)}


def test_every_package_of_the_code_is_copied_in_and_none_is_ignored():
    # given: the code's top-level packages, as import-linter knows them, and the entry point
    needed = set(PYPROJECT["tool"]["importlinter"]["root_packages"]) | {"manage.py"}
    copied = set()
    for step in _of("COPY", _final_stage()):
        if not step.flags:
            copied.update(path.rstrip("/") for path in step.value[:-1])
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


def _ignored() -> list[str]:
    return [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_the_pages_the_console_renders_are_in_the_image():
    # given: every Markdown page the console serves, as a path in the build context
    from ecommerce.console.views import DOCS

    pages = [str(path.relative_to(ROOT)) for path in DOCS.values()]
    sources = [
        source.rstrip("/")
        for step in _of("COPY", _final_stage())
        if not step.flags
        for source in step.value[:-1]
    ]
    ignored = _ignored()
    # then: each is copied in, and the context does not leave it out
    assert pages
    for page in pages:
        assert any(
            fnmatch.fnmatch(page, source) or page.startswith(source + "/") for source in sources
        ), page
        parents = [page] + ["/".join(page.split("/")[:n]) for n in range(1, page.count("/") + 1)]
        assert not any(fnmatch.fnmatch(p, pattern) for p in parents for pattern in ignored), page


def test_static_files_are_collected_and_the_web_process_is_checked_on_healthz():
    runs = " ".join(step.value[0] for step in _of("RUN", _final_stage()))
    assert "manage.py collectstatic --noinput" in runs
    (check,) = _of("HEALTHCHECK", _final_stage())
    assert check.value[0] == "CMD" and "/healthz" in " ".join(check.value)


def test_the_image_runs_the_web_process_by_default():
    (cmd,) = _of("CMD", _final_stage())
    assert cmd.json
    assert list(cmd.value) == phase_model(0)["services"]["web"]["command"]
