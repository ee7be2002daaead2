"""Operation keys (idempotency, stock hold and cart reservation keys): what every service takes.

One rule for all of them, so a key one service made is one the next accepts: 1 to 200 printable
ASCII characters, no spaces (an HTTP header can carry it; a database column holds it).
"""

from __future__ import annotations

import re
from typing import Any

from ecommerce.contracts.errors import InvalidRequest

KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"
KEY = re.compile(KEY_PATTERN.removesuffix("$") + r"\Z")


def key_check(value: Any, *, name: str) -> str:
    """`value` if it is a valid operation key; else InvalidRequest naming the field."""
    if not isinstance(value, str) or not KEY.match(value):
        raise InvalidRequest(
            f"The {name} must be 1 to 200 printable ASCII characters.",
            {name: ["1 to 200 printable ASCII characters, no spaces."]},
        )
    return value
