"""Render a kustomization in Python: the subset of kustomize docker/k8s uses, so the overlays can be
checked where no kustomize binary is installed (test_k8s compares it with one where there is).

Supported: `resources` (files, and directories holding a kustomization), `namespace`, `images`,
and `patches` by path: strategic-merge patches, several to a file, `$patch: delete` included.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

# Lists that strategic merge merges item by item (by `name`) instead of replacing them whole.
_MERGED_BY_NAME = {"containers", "initContainers", "env", "volumes"}
_SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
# Kinds whose pods have containers to give images to, and where their pod template sits.
_TEMPLATES = {"Deployment": ("spec", "template"), "Job": ("spec", "template")}


class KustomizeError(ValueError):
    pass


def _documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _key(doc: dict) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def merge(base, patch, field: str = ""):
    """Strategic merge of `patch` into `base` for the fields docker/k8s patches."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and field in _MERGED_BY_NAME:
        merged = [copy.deepcopy(item) for item in base]
        added = []
        for item in patch:
            names = [existing["name"] for existing in merged]
            if item["name"] in names:
                index = names.index(item["name"])
                merged[index] = merge(merged[index], item)
            else:
                added.append(copy.deepcopy(item))
        # kustomize puts the items a patch adds before the ones it had.
        return added + merged
    return copy.deepcopy(patch)


def _set_images(doc: dict, images: list[dict]) -> None:
    if doc["kind"] not in _TEMPLATES:
        return
    pod = doc
    for step in _TEMPLATES[doc["kind"]]:
        pod = pod[step]
    for container in pod["spec"].get("containers", []) + pod["spec"].get("initContainers", []):
        name, _, tag = container["image"].partition(":")
        for image in images:
            if image["name"] == name:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"


def render(directory: Path) -> list[dict]:
    """The documents `kustomize build directory` gives, in the order their files list them."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - _SUPPORTED
    if unknown:
        raise KustomizeError(f"{directory}: not rendered here: {sorted(unknown)}")
    documents: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        documents += render(path) if path.is_dir() else _documents(path)
    keys = [_key(doc) for doc in documents]
    if len(set(keys)) != len(keys):
        raise KustomizeError(f"{directory}: a resource is defined twice")
    for entry in kustomization.get("patches", []):
        if set(entry) != {"path"}:
            raise KustomizeError(f"{directory}: only patches by path are rendered here: {entry}")
        for patch in _documents(directory / entry["path"]):
            keys = [_key(doc) for doc in documents]
            if _key(patch) not in keys:
                raise KustomizeError(f"{directory}: patch for a missing resource {_key(patch)}")
            index = keys.index(_key(patch))
            if patch.get("$patch") == "delete":
                del documents[index]
            else:
                documents[index] = merge(documents[index], patch)
    for doc in documents:
        if "namespace" in kustomization:
            doc["metadata"]["namespace"] = kustomization["namespace"]
        _set_images(doc, kustomization.get("images", []))
    return documents
