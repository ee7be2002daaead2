"""The named steps of the journey: which apps run remote in each phase.

Plain data, read by the resolver, the settings and the service runner; never by the apps.
"""

from __future__ import annotations

from dataclasses import dataclass

from phases.services import CALLS, SERVICES

NAMED: dict[int, frozenset[str]] = {
    0: frozenset(),
    1: frozenset({"cart"}),
    2: frozenset({"cart", "product"}),
    3: frozenset({"cart", "product", "order", "payment"}),
}


class PhaseError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Phase:
    """Which services run as their own process; `name` is "0".."3" or "custom"."""

    name: str
    extracted: frozenset[str]

    def is_remote(self, app: str) -> bool:
        return app in self.extracted

    def monolith_endpoints(self) -> frozenset[str]:
        """Apps still in the monolith that an extracted service calls: the monolith serves
        them over gRPC too (same code, the monolith's database)."""
        needed = {dep for app in self.extracted for dep in CALLS[app]}
        return frozenset(needed - self.extracted)

    def describe(self) -> str:
        remote = ", ".join(sorted(self.extracted)) or "nothing"
        return f"phase {self.name}: remote = {remote}"


def parse(phase: str | int | None = None, extracted: str | None = None) -> Phase:
    """`extracted` ("cart,product") wins over `phase` (0-3); neither means phase 0."""
    if extracted:
        names = frozenset(n.strip() for n in extracted.split(",") if n.strip())
        unknown = names - set(SERVICES)
        if unknown:
            raise PhaseError(f"unknown service(s) in EXTRACTED: {', '.join(sorted(unknown))}")
        for number, members in NAMED.items():
            if members == names:
                return Phase(str(number), names)
        return Phase("custom", names)
    text = str(phase if phase not in (None, "") else 0).strip()
    if text.upper().startswith("EXTRACTED="):
        return parse(extracted=text.split("=", 1)[1])
    try:
        number = int(text)
    except ValueError as exc:
        raise PhaseError(f"PHASE must be 0-3 or EXTRACTED=a,b; got {text!r}") from exc
    if number not in NAMED:
        raise PhaseError(f"PHASE must be 0-3; got {number}")
    return Phase(str(number), NAMED[number])
