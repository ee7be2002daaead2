"""Failpoints: named places where a test can make a process crash or a step fail on purpose.

`ECOMMERCE_FAILPOINTS="saga.recorded.charge_payment=kill,saga.commit=error"` arms them. Unset in
every real deployment, where each check is one environment lookup.

Actions: `kill` (this process), `killgroup` (its whole process group: a worker and its pool
children at once), `error` (raise the error the operation at that place really raises when it
fails, which the place names: `failpoint("saga.commit", error=Conflict)`, so the code around it
handles the injected failure exactly as a real one and nothing catches a test-only type), and
`unavailable` (raise ServiceUnavailable, the transient error every caller retries).
"""

from __future__ import annotations

import os
import signal

from ecommerce.contracts.errors import ServiceUnavailable


class NoErrorHere(LookupError):
    """`error` armed at a failpoint that names no error: that place can only crash."""


def _armed() -> dict[str, str]:
    spec = os.environ.get("ECOMMERCE_FAILPOINTS", "")
    pairs = (item.split("=", 1) for item in spec.split(",") if "=" in item)
    return {name.strip(): action.strip() for name, action in pairs}


def failpoint(name: str, *, error: type[Exception] | None = None) -> None:
    """Act on `name` if it is armed; `error` is what the operation here raises when it fails."""
    action = _armed().get(name)
    if action is None:
        return
    if action == "kill":
        # At once, with no cleanup, as the OOM killer would.
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "killgroup":
        os.killpg(os.getpgid(0), signal.SIGKILL)
    if action == "error":
        if error is None:
            raise NoErrorHere(f"failpoint {name} names no error: arm it with kill or unavailable")
        raise error(f"failpoint {name}")
    if action == "unavailable":
        raise ServiceUnavailable(f"failpoint {name}")
