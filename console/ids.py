"""Object ids: 24 lowercase hex characters, like a MongoDB ObjectId.

The first four bytes are the creation time in seconds, so ids sort roughly by age and
say when an object was made; the other eight are random, so ids are never guessable or
sequential. Only the server issues them (no client chooses an id for a new object), and
an id made now cannot equal one made in an earlier second, so an id that existed once,
and the audit trail filed under it, never comes back as another object's.
"""

from __future__ import annotations

import re
import secrets
import time

OBJECT_ID_PATTERN = r"^[0-9a-f]{24}$"
_OBJECT_ID_RE = re.compile(OBJECT_ID_PATTERN)


def new_object_id() -> str:
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


def is_object_id(value: object) -> bool:
    return isinstance(value, str) and _OBJECT_ID_RE.fullmatch(value) is not None
