"""Typed errors of the AMC client.

Every error carries what AMC said (HTTP status, code, message, details, request id) and says
whether trying again later can help (`retryable`). None of them ever holds a token or secret.
"""

from __future__ import annotations

from typing import Any


class AmcError(Exception):
    """Base of every AMC client error."""

    #: True when the same call may succeed later without any change (throttling, outages).
    retryable: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        details: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details
        self.request_id = request_id
        #: The decoded error body as AMC sent it (JSON or text), for the record.
        self.body = body

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(str(self.code))
        text = ": ".join(p for p in (" ".join(parts), self.message) if p)
        if self.details and self.details != self.message:
            text = f"{text} ({self.details})" if text else self.details
        if self.request_id:
            text = f"{text} [request id {self.request_id}]"
        return text or self.__class__.__name__

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, details={self.details!r}, "
            f"request_id={self.request_id!r})"
        )


class AmcBadRequest(AmcError):
    """A 400 (or 422) that is not about the query itself, e.g. a cancel AMC refuses."""


class AmcQueryError(AmcBadRequest):
    """AMC refused the query (validation or compile error, HTTP 400 on submit).

    AMC puts the useful text (table or column not found, line and column) in `details`;
    `message` is often only "Bad Request".
    """


class AmcThrottled(AmcError):
    """HTTP 429 after the client's own retries; `retry_after` is in seconds, or None."""

    retryable = True

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AmcAuthError(AmcError):
    """401/403 from AMC after one token refresh and retry, or LWA refusing the credentials.

    Wrong advertiser (entity) id, wrong marketplace, revoked refresh token, wrong client
    secret all land here: a person has to fix the account, retrying does not help.
    """


class AmcNotFound(AmcError):
    """HTTP 404: unknown instance (often our UUID sent instead of AMC's id) or execution."""


class AmcServerError(AmcError):
    """HTTP 5xx after the client's own retries (or at once for a submit, see client)."""

    retryable = True


class AmcConnectionError(AmcError):
    """No HTTP answer: DNS, refused connection, reset, connect or read timeout.

    `request_sent` is False only when the connection was never established, so AMC cannot
    have seen the request; when True a submit may or may not have been created.
    """

    retryable = True

    def __init__(self, message: str = "", *, request_sent: bool = True, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.request_sent = request_sent


class AmcResultTooLarge(AmcError):
    """A result file is bigger than the caller's `max_bytes` cap."""

    def __init__(self, message: str = "", *, max_bytes: int, size: int | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.max_bytes = max_bytes
        #: Declared (Content-Length) or counted size when the cap was crossed.
        self.size = size


class AmcDownloadExpired(AmcError):
    """A pre-signed result URL was refused (expired, denied or gone): fetch fresh URLs."""


class AmcDownloadRefused(AmcError):
    """We refuse to fetch a result URL: not https, a host off the allowlist, a private address,
    a redirect elsewhere. Nothing was downloaded; retrying does not help."""

    def __init__(self, reason: str, **kwargs: Any) -> None:
        super().__init__(f"result URL refused: {reason}", **kwargs)


__all__ = [
    "AmcAuthError",
    "AmcBadRequest",
    "AmcConnectionError",
    "AmcDownloadExpired",
    "AmcDownloadRefused",
    "AmcError",
    "AmcNotFound",
    "AmcQueryError",
    "AmcResultTooLarge",
    "AmcServerError",
    "AmcThrottled",
]
