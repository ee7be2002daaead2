"""The processes a phase's Procfile runs: name, environment assignments and argv."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHASES = (0, 1, 2, 3)
# What a Procfile's `${NAME}` / `${NAME:-default}` stands for when no default is given.
_UNSET = {"PORT": "8000"}


@dataclass(frozen=True)
class Process:
    name: str
    env: dict[str, str]
    argv: list[str]


def _expand(text: str) -> str:
    def value(match: re.Match) -> str:
        name, default = match.group(1), match.group(3)
        return default if default is not None else _UNSET[name]

    return re.sub(r"\$\{([A-Z_]+)(:-([^}]*))?\}", value, text)


def processes(phase: int) -> dict[str, Process]:
    found: dict[str, Process] = {}
    for line in (ROOT / f"phases/Procfile.phase{phase}").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        tokens = shlex.split(_expand(command))
        env = {}
        while tokens and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", tokens[0]):
            key, _, val = tokens.pop(0).partition("=")
            env[key] = val
        found[name.strip()] = Process(name.strip(), env, tokens)
    return found


def split_command(argv: list[str]) -> tuple[list[str], dict[str, str | None]]:
    """The program and its positional words (up to the first `--option`), then the options:
    `--name value`, or `--name` alone (None) when the next word is another option."""
    head: list[str] = []
    index = 0
    while index < len(argv) and not argv[index].startswith("--"):
        head.append(argv[index])
        index += 1
    options: dict[str, str | None] = {}
    while index < len(argv):
        word = argv[index]
        assert word.startswith("--"), f"a positional word after the options: {argv}"
        if "=" in word:
            key, _, val = word.partition("=")
            options[key] = val
            index += 1
        elif index + 1 < len(argv) and not argv[index + 1].startswith("--"):
            options[word] = argv[index + 1]
            index += 2
        else:
            options[word] = None
            index += 1
    return head, options


def serves(process: Process) -> str | None:
    """The app a `manage.py serve <app>` process runs as a service, else None."""
    head, _ = split_command(process.argv)
    return head[3] if head[:3] == ["python", "manage.py", "serve"] else None
