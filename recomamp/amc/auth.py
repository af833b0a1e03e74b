"""Login with Amazon (LWA) credentials and the in-process access-token cache."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field

#: LWA's token endpoint (all regions).
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"

#: Refresh this long before LWA's expiry (capped at a fifth of the token's life for short ones).
REFRESH_MARGIN_SECONDS = 300.0


@dataclass(frozen=True)
class AmcCredentials:
    """The app's LWA client id and secret plus one AMC account's refresh token.

    The secret and the refresh token never appear in repr() or logs.
    """

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_url: str = LWA_TOKEN_URL

    def cache_key(self) -> tuple[str, str, str]:
        """(token_url, client_id, digest of the refresh token): one cached token per account.

        The refresh token is hashed so the key itself is not a secret worth stealing from a
        memory dump or a debugger's repr.
        """
        digest = hashlib.sha256(self.refresh_token.encode("utf-8")).hexdigest()
        return (self.token_url, self.client_id, digest)


@dataclass
class _Entry:
    access_token: str
    refresh_at: float  # time.monotonic()
    lock: threading.Lock = field(default_factory=threading.Lock)


class TokenCache:
    """Access tokens shared by every client in the process, per account.

    One lock per key: when many threads find the token stale at once, one refreshes and the
    others wait for it and reuse its result instead of hammering LWA.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._entries: dict[tuple[str, str, str], _Entry] = {}

    def _entry(self, key: tuple[str, str, str]) -> _Entry:
        with self._guard:
            entry = self._entries.get(key)
            if entry is None:
                entry = _Entry(access_token="", refresh_at=0.0)
                self._entries[key] = entry
            return entry

    def get(self, key, fetch, *, rejected: str | None = None) -> str:
        """The cached token for `key`, or a fresh one from `fetch() -> (token, expires_in)`.

        `rejected` is a token the API just answered 401 to: if the cache still holds it,
        it is replaced; if another thread already replaced it, that newer token is used.
        """
        entry = self._entry(key)
        with entry.lock:
            fresh = entry.access_token and time.monotonic() < entry.refresh_at
            if fresh and (rejected is None or entry.access_token != rejected):
                return entry.access_token
            token, expires_in = fetch()
            margin = min(REFRESH_MARGIN_SECONDS, max(0.0, expires_in) / 5.0)
            entry.access_token = token
            entry.refresh_at = time.monotonic() + max(0.0, expires_in - margin)
            return token

    def clear(self) -> None:
        """Forget every token (tests, or after rotating an app's credentials)."""
        with self._guard:
            self._entries.clear()


#: The process-wide cache every AmcClient uses.
token_cache = TokenCache()
