"""Per-account rate limits for paths Flask-Limiter does not see (Socket.IO events).

Keyed by account, never by IP address alone: the note-takers at one table
often share a venue's network. Uses the ``limits`` moving window on the same
storage as Flask-Limiter (memory, or Redis when ``REDIS_URL`` is set), so
several server processes share one budget.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from roundtable.errors import RateLimited


class AccountRateLimiter:
    """``hit(account_id, "note", "5/second")`` raises :class:`RateLimited` when over budget."""

    def __init__(self, storage_uri: str = "memory://"):
        self.storage_uri = storage_uri
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    @classmethod
    def from_config(cls, config) -> "AccountRateLimiter":
        uri = config.get("RATELIMIT_STORAGE_URI") or "memory://"
        if uri == "memory://" and config.get("REDIS_URL"):
            uri = config["REDIS_URL"]
        return cls(uri)

    def allow(self, account_id: int | str, action: str, limit: str | int) -> bool:
        """Count one ``action`` by the account; False when it is over ``limit``.

        ``limit`` is a ``limits`` string ("5/second", "30 per minute") or a number per second.
        """
        item = RateLimitItemPerSecond(int(limit)) if isinstance(limit, (int, float)) else parse(limit)
        return self._limiter.hit(item, "roundtable", action, f"account:{account_id}")

    def hit(self, account_id: int | str, action: str, limit: str | int) -> None:
        if not self.allow(account_id, action, limit):
            item = RateLimitItemPerSecond(int(limit)) if isinstance(limit, (int, float)) else parse(limit)
            stats = self._limiter.get_window_stats(item, "roundtable", action, f"account:{account_id}")
            wait = max(1, math.ceil(stats.reset_time - time.time()))
            raise RateLimited(f"too many {action}s: at most {item} per account; wait {wait} s and try again", retry_after=wait)
