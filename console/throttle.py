"""Failed-attempt throttles: sign-ins per (username, client address), API keys per address.

Failures are counted in Django's cache (``CACHES``, from ``BERTH_CACHE_URL``). The count
starts with the first failure and lasts one window, so a caller gets ``limit`` failures per
window and is then refused until the window ends. A caller that is refused is not checked
at all: a right guess made while refused would otherwise still be told apart from a wrong
one. Only failures are written, so a good request costs one cache read; in exchange,
attempts already running when the limit is reached may each still fail once, which bounds
the overshoot by the server's concurrency, not by the attacker's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.errors import HttpError

TOO_MANY_ATTEMPTS = "Too many failed attempts; try again later."


class TooManyAttempts(HttpError):
    """The caller is over a throttle's limit: 429. Ninja answers it as ``{"detail": ...}``;
    ``console.middleware.RequestLimitsMiddleware`` does the same for plain views."""

    def __init__(self) -> None:
        super().__init__(429, TOO_MANY_ATTEMPTS)


@dataclass(frozen=True)
class FailureThrottle:
    """At most ``limit`` failures per ``window`` seconds for each caller of ``scope``."""

    scope: str
    limit: int
    window: int

    def _key(self, who: tuple[str, ...]) -> str:
        # Hashed: usernames may hold characters or lengths that a cache key must not.
        digest = hashlib.sha256("\0".join(who).encode()).hexdigest()
        return f"berth:throttle:{self.scope}:{digest}"

    def blocked(self, *who: str) -> bool:
        """Whether ``who`` has used up its failures for this window."""
        return int(cache.get(self._key(who), 0)) >= self.limit

    def check(self, *who: str) -> None:
        """Raise ``TooManyAttempts`` when ``who`` is blocked."""
        if self.blocked(*who):
            raise TooManyAttempts()

    def failed(self, *who: str) -> None:
        """Count one failure of ``who``."""
        key = self._key(who)
        # add() starts the window only if none is running; incr() is atomic on a shared cache.
        cache.add(key, 0, timeout=self.window)
        try:
            cache.incr(key)
        except ValueError:  # the window ended between add() and incr(): this starts a new one
            cache.set(key, 1, timeout=self.window)

    def clear(self, *who: str) -> None:
        """Forget ``who``'s failures (a successful sign-in)."""
        cache.delete(self._key(who))


# Sign-in form: 5 wrong passwords per username and address per 15 minutes.
LOGIN_FAILURES = FailureThrottle("login", limit=5, window=15 * 60)
# API keys (the API and the invoke proxy): 20 bad keys per address per minute.
API_KEY_FAILURES = FailureThrottle("api-key", limit=20, window=60)


def client_ip(request: HttpRequest) -> str:
    """The caller's address: the peer's, or, behind a trusted proxy
    (``BERTH_TRUST_X_FORWARDED_FOR``), the last address that proxy appended."""
    if settings.BERTH_TRUST_X_FORWARDED_FOR:
        # Only the last entry is the proxy's own observation; earlier ones are the client's
        # to invent, and trusting them would let it pick a fresh bucket for every attempt.
        forwarded = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return str(request.META.get("REMOTE_ADDR", ""))
