"""Login with Amazon tokens and S3-style pre-signed download URLs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from .config import REFRESH_TOKEN_PREFIX


class LwaError(Exception):
    """An LWA-shaped error: `{"error": ..., "error_description": ...}`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def as_body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class TokenStore:
    """Access tokens issued by the simulated LWA endpoint (thread-safe)."""

    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._tokens: dict[str, tuple[float, str]] = {}  # token -> (expires at, client id)
        self._lock = threading.Lock()

    def issue(self, form: dict[str, str], *, ttl_seconds: float) -> dict:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise LwaError(400, "invalid_request", "The request is missing grant_type")
        if grant_type != "refresh_token":
            raise LwaError(
                400, "unsupported_grant_type", f"The grant type {grant_type} is not supported"
            )
        refresh_token = form.get("refresh_token")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if not refresh_token or not client_id or not client_secret:
            raise LwaError(
                400,
                "invalid_request",
                "The request is missing a required parameter: "
                + ", ".join(
                    name
                    for name, value in (
                        ("refresh_token", refresh_token),
                        ("client_id", client_id),
                        ("client_secret", client_secret),
                    )
                    if not value
                ),
            )
        if not (
            hmac.compare_digest(client_id, self.client_id)
            and hmac.compare_digest(client_secret, self.client_secret)
        ):
            raise LwaError(401, "invalid_client", "Client authentication failed")
        if not refresh_token.startswith(REFRESH_TOKEN_PREFIX) or len(refresh_token) <= len(
            REFRESH_TOKEN_PREFIX
        ):
            raise LwaError(
                400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
            )
        token = "Atza|" + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = (time.time() + ttl_seconds, client_id)
        return {
            "access_token": token,
            "refresh_token": refresh_token,
            "token_type": "bearer",
            "expires_in": int(ttl_seconds),
        }

    def client_of(self, token: str) -> str | None:
        """The client id the token was issued to, or None if unknown or expired."""
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                return None
            expires_at, client_id = entry
            if time.time() >= expires_at:
                del self._tokens[token]
                return None
            return client_id

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            return count


@dataclass(frozen=True)
class UrlSigner:
    """HMAC-signed, expiring URLs in the shape of S3's query-string authentication."""

    key: bytes

    def _signature(self, path: str, amz_date: str, expires: int) -> str:
        message = f"GET\n{path}\n{amz_date}\n{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def sign(self, base_url: str, path: str, *, ttl_seconds: float) -> str:
        amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        expires = max(0, int(ttl_seconds))
        query = urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": amz_date,
                "X-Amz-Expires": str(expires),
                "X-Amz-Signature": self._signature(path, amz_date, expires),
            }
        )
        return f"{base_url}{path}?{query}"

    def verify(self, path: str, params: dict[str, str]) -> str | None:
        """None if the URL is valid now, else the S3-style reason it is not."""
        amz_date = params.get("X-Amz-Date", "")
        signature = params.get("X-Amz-Signature", "")
        try:
            expires = int(params.get("X-Amz-Expires", ""))
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return (
                "Query-string authentication requires the X-Amz-Date and X-Amz-Expires parameters"
            )
        if not hmac.compare_digest(signature, self._signature(path, amz_date, expires)):
            return "The request signature we calculated does not match the signature you provided"
        if datetime.now(UTC).timestamp() >= signed_at.timestamp() + expires:
            return "Request has expired"
        return None
