"""A phase's compose model as `docker compose` builds it: the file, its `include`s, its anchors."""

from __future__ import annotations

from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def compose_files() -> list[Path]:
    return sorted(DOCKER.glob("compose*.yaml"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def phase_model(phase: int) -> dict:
    """Services, volumes and the file's own keys, with every included file's merged in
    (an included file may not redefine a service, as compose refuses that too)."""
    path = DOCKER / f"compose.phase{phase}.yaml"
    model = load(path)
    services = dict(model.get("services", {}))
    volumes = dict(model.get("volumes") or {})
    for entry in model.get("include", []):
        included = load(path.parent / (entry if isinstance(entry, str) else entry["path"]))
        clash = services.keys() & included.get("services", {}).keys()
        assert not clash, f"{path.name}: services defined twice: {sorted(clash)}"
        services.update(included.get("services", {}))
        volumes.update(included.get("volumes") or {})
    return {**model, "services": services, "volumes": volumes}


def app_services(model: dict) -> dict[str, dict]:
    """The containers that run the project's own image (those compose builds)."""
    return {name: svc for name, svc in model["services"].items() if "build" in svc}


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}
