"""Outgoing webhooks (scheduled delivery and alerts): one way to check a URL and one to POST.

A webhook URL is checked when it is saved (`check_webhook_url(url, resolve=False)`: https, no
credentials, no local names or literal private addresses) and again before each POST with its
DNS answers. The POST itself goes through a session whose sockets are checked after connecting
(the guard result downloads use), so a name that resolves to a public address at the check
and to 127.0.0.1 a moment later (DNS rebinding) is refused as surely as the literal.
Redirects are never followed; proxies and netrc from the environment are ignored.

Every POST carries `X-RecomAMP-Event`, a unique `X-RecomAMP-Delivery` id and
`X-RecomAMP-Timestamp` (Unix seconds). With `RECOMAMP_WEBHOOK_SECRET` set, it is also signed:
`X-RecomAMP-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>`.
A receiver recomputes it over the raw body, compares in constant time and refuses timestamps
older than a few minutes (a replayed call).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
import uuid
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from recomamp.amc.downloads import GuardedAdapter
from recomamp.errors import DomainError

USER_AGENT = "RecomAMP-webhooks/1"


class UnsafeWebhookUrl(DomainError):
    default_code = "unsafe_url"


class WebhookFailed(Exception):
    """The receiver could not be reached or did not answer 2xx."""


def _refuse_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        raise UnsafeWebhookUrl(
            "A webhook may not point at a private, loopback or reserved address.",
            field="target",
        )


def check_webhook_url(url: str, *, resolve: bool = True) -> None:
    """Refuse a webhook URL that could reach inside our network.

    https only, except hosts in RECOMAMP_WEBHOOK_ALLOWED_HOSTS; no address that is private,
    loopback, link-local, multicast or reserved unless RECOMAMP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES.
    With `resolve`, the host's DNS answers are checked too (at send time).
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeWebhookUrl("A webhook must be an https URL with a host.", field="target")
    allowed_hosts = {h.lower() for h in settings.RECOMAMP_WEBHOOK_ALLOWED_HOSTS}
    if parts.scheme == "http" and host not in allowed_hosts:
        raise UnsafeWebhookUrl(
            "A webhook must use https (or a host listed in RECOMAMP_WEBHOOK_ALLOWED_HOSTS).",
            field="target",
        )
    if parts.username or parts.password:
        raise UnsafeWebhookUrl("A webhook URL may not carry credentials.", field="target")
    if settings.RECOMAMP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise UnsafeWebhookUrl(
                "A webhook may not point at a local host.", field="target"
            ) from None
        if not resolve:
            return
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:
            raise UnsafeWebhookUrl(
                f"The webhook host does not resolve: {exc}", field="target"
            ) from exc
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    for address in addresses:
        _refuse_address(address)


class _ConnectedAddressPolicy:
    """The socket-level check `GuardedAdapter` applies to every connection it opens."""

    def check_address(self, scheme: str, host: str, port: int | None, address: str) -> None:
        if not settings.RECOMAMP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
            _refuse_address(ipaddress.ip_address(address.split("%", 1)[0]))


def signature(body: bytes, timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def post(url: str, payload: dict, *, event: str) -> None:
    """POST `payload` as JSON to a checked URL; raises UnsafeWebhookUrl or WebhookFailed."""
    check_webhook_url(url)  # again at send time: DNS may have changed since it was saved
    body = json.dumps(payload, cls=DjangoJSONEncoder).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-RecomAMP-Event": event,
        "X-RecomAMP-Delivery": str(uuid.uuid4()),
        "X-RecomAMP-Timestamp": timestamp,
    }
    if settings.RECOMAMP_WEBHOOK_SECRET:
        headers["X-RecomAMP-Signature"] = signature(
            body, timestamp, settings.RECOMAMP_WEBHOOK_SECRET
        )
    with requests.Session() as session:
        session.trust_env = False
        adapter = GuardedAdapter(_ConnectedAddressPolicy())
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        try:
            response = session.post(
                url,
                data=body,
                headers=headers,
                timeout=settings.RECOMAMP_WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,  # a redirect could lead past the URL check
            )
        except requests.RequestException as exc:  # a refused address raises UnsafeWebhookUrl
            raise WebhookFailed(f"webhook unreachable: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(f"webhook answered {response.status_code}")
