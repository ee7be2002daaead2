"""Stripe's request encoding: bracketed form keys (`metadata[order_id]`, `items[0][price]`)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class FormError(ValueError):
    pass


def _insert(target: dict, parts: list[str], value: str) -> None:
    node: Any = target
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if last:
            if isinstance(node, dict) and isinstance(node.get(part), dict):
                raise FormError(f"conflicting values for {part!r}")
            node[part] = value
            return
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            raise FormError(f"conflicting values for {part!r}")
        node = child


def _listify(node: Any) -> Any:
    """Dicts whose keys are exactly 0..n-1 were arrays on the client side."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(k.isdigit() for k in converted):
        indices = sorted(int(k) for k in converted)
        if indices == list(range(len(indices))):
            return [converted[str(i)] for i in indices]
    return converted


def decode(body: str) -> dict[str, Any]:
    """Nested params from a form-encoded body or query string; values stay strings."""
    result: dict[str, Any] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True, strict_parsing=False):
        match = _KEY.match(raw_key)
        if not match:
            raise FormError(f"invalid parameter name {raw_key!r}")
        head, rest = match.groups()
        parts = [head, *re.findall(r"\[([^\[\]]*)\]", rest)]
        _insert(result, parts, value)
    return _listify(result)


def flatten(body: str) -> list[tuple[str, str]]:
    """The parameters as sorted pairs: what idempotency compares between two requests."""
    return sorted(parse_qsl(body, keep_blank_values=True))
