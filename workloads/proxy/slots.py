"""How many requests each workload has in flight, capped by BERTH_INVOKE_MAX_CONCURRENT.

The count lives in Django's cache (atomic incr/decr): per process on the embedded default
(LocMemCache), so each web process admits up to the cap on its own; shared across processes
once BERTH_CACHE_URL points at Redis. A process that dies mid-request never gives its slot
back, so the counter expires a while after the longest possible request (the deadline);
when it restarts from zero under load, up to twice the cap may be in flight for at most
that long, which is the price of never locking a workload out for good.
"""

from __future__ import annotations

from contextlib import suppress

from django.conf import settings
from django.core.cache import cache

# Past the deadline every request holding a slot has ended, or its process has died.
EXPIRY_MARGIN_SECONDS = 60


def _key(workload_id: str) -> str:
    return f"berth:invoke:in-flight:{workload_id}"


def slot_take(workload_id: str) -> bool:
    """Take a slot; False when the workload is at its cap (nothing was taken)."""
    key = _key(workload_id)
    expiry = int(settings.BERTH_INVOKE_DEADLINE_SECONDS) + EXPIRY_MARGIN_SECONDS
    for _ in range(2):
        cache.add(key, 0, timeout=expiry)
        try:
            in_flight = cache.incr(key)
        except ValueError:
            continue  # expired between add and incr: add it again
        if in_flight <= settings.BERTH_INVOKE_MAX_CONCURRENT:
            return True
        slot_give_back(workload_id)
        return False
    return True  # the cache keeps losing the key: admit rather than refuse everyone


def slot_give_back(workload_id: str) -> None:
    # Expired meanwhile (ValueError): the count restarted without this request.
    with suppress(ValueError):
        cache.decr(_key(workload_id))
