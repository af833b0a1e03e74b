"""Where result downloads may go, and the HTTP plumbing that holds them to it.

AMC answers `downloadUrls` with pre-signed S3 URLs; the client fetches them with no AMC
headers. A URL AMC (or anything posing as AMC) hands out must not turn the worker into a
proxy into our own network, so every hop of a download is checked by a `DownloadPolicy`:

- https only, to a host on `allowed_hosts` (AMC's S3 hosts by default); plain http and
  private addresses only for the exact `trusted_origins` (the configured simulator);
- the address actually connected to must be global (not loopback, private, link-local,
  reserved ...) unless the origin is trusted; this is checked on the socket, after DNS, so a
  name that resolves to 127.0.0.1 is refused as surely as the literal;
- redirects are followed by hand, at most `max_redirects`, each hop checked the same way;
- the whole download has a deadline (`max_seconds`) besides the per-read timeout.

Signed URLs never reach a log: the client logs paths only, and `redact_urllib3_logs()` strips
query strings from urllib3's own DEBUG lines.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .errors import AmcDownloadRefused

#: Hosts AMC's pre-signed result URLs use: S3, path-style or virtual-hosted, any region.
AMC_DOWNLOAD_HOSTS: tuple[str, ...] = (
    "s3.amazonaws.com",
    "*.s3.amazonaws.com",
    "s3.*.amazonaws.com",
    "*.s3.*.amazonaws.com",
    "s3-*.amazonaws.com",
    "*.s3-*.amazonaws.com",
)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """`scheme://host:port` of a URL, lower-cased, with the default port made explicit."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    host = (parts.hostname or "").lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class DownloadPolicy:
    """What result downloads may reach. The default is AMC's S3 hosts over https only."""

    allowed_hosts: tuple[str, ...] = AMC_DOWNLOAD_HOSTS
    #: Exact origins (`http://127.0.0.1:8765`) allowed over http and on private addresses.
    trusted_origins: tuple[str, ...] = ()
    max_seconds: float = 600.0
    max_redirects: int = 3

    def __post_init__(self) -> None:
        origins = tuple(origin_of(o) for o in self.trusted_origins if o)
        object.__setattr__(self, "trusted_origins", origins)
        object.__setattr__(self, "allowed_hosts", tuple(h.lower() for h in self.allowed_hosts))

    def is_trusted(self, scheme: str, host: str, port: int | None) -> bool:
        port = port or _DEFAULT_PORTS.get(scheme)
        return f"{scheme}://{host.lower()}:{port}" in self.trusted_origins

    def check_url(self, url: str) -> None:
        """Refuse a URL the download must not fetch (before any connection is made)."""
        parts = urlsplit(url)
        scheme = (parts.scheme or "").lower()
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:
            raise AmcDownloadRefused("the result URL has an invalid port") from None
        if not host:
            raise AmcDownloadRefused("the result URL has no host")
        if parts.username or parts.password:
            raise AmcDownloadRefused(f"the result URL for {host} carries credentials")
        if self.is_trusted(scheme, host, port):
            return
        if scheme != "https":
            raise AmcDownloadRefused(
                f"the result URL for {host} is not https (only the configured simulator may "
                "use http)"
            )
        if not any(fnmatch.fnmatchcase(host, pattern) for pattern in self.allowed_hosts):
            raise AmcDownloadRefused(
                f"{host} is not an allowed download host (allowed: "
                f"{', '.join(self.allowed_hosts) or 'none'})"
            )

    def check_address(self, scheme: str, host: str, port: int | None, address: str) -> None:
        """Refuse a connection to a non-global address unless the origin is trusted."""
        if self.is_trusted(scheme, host, port):
            return
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global:
            raise AmcDownloadRefused(
                f"{host} resolves to {ip}, a loopback, private or link-local address"
            )


def _guarded_connection(base: type[HTTPConnection], scheme: str, policy: DownloadPolicy):
    class GuardedConnection(base):  # type: ignore[misc, valid-type]
        def _new_conn(self):
            sock = super()._new_conn()
            try:
                policy.check_address(scheme, self.host, self.port, sock.getpeername()[0])
            except BaseException:
                sock.close()
                raise
            return sock

    return GuardedConnection


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose every new connection is checked against a DownloadPolicy."""

    def __init__(self, policy: DownloadPolicy, **kwargs) -> None:
        self.policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_connection = _guarded_connection(HTTPConnection, "http", self.policy)
        https_connection = _guarded_connection(HTTPSConnection, "https", self.policy)

        class HttpPool(HTTPConnectionPool):
            ConnectionCls = http_connection

        class HttpsPool(HTTPSConnectionPool):
            ConnectionCls = https_connection

        self.poolmanager.pool_classes_by_scheme = {"http": HttpPool, "https": HttpsPool}


def guarded_download_session(policy: DownloadPolicy) -> requests.Session:
    """A session for result files: no proxies or netrc from the environment, guarded sockets."""
    session = requests.Session()
    session.trust_env = False  # redirects: the client passes allow_redirects=False per call
    adapter = GuardedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# -- logs ------------------------------------------------------------------------------------

_URL_QUERY = re.compile(r"(?P<keep>(?:https?://|/)[^\s?'\"]*)\?[^\s'\"]*")


class RedactQueryStrings(logging.Filter):
    """Drops query strings (pre-signed URL signatures, tokens) from a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's problem, not ours
            return True
        redacted = _URL_QUERY.sub(r"\g<keep>?[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_URLLIB3_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "requests",
)
_redactor = RedactQueryStrings()


def redact_urllib3_logs() -> None:
    """Install the redacting filter on urllib3's and requests' loggers (idempotent).

    Logger filters only see records created on that very logger, hence one per module.
    """
    for name in _URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if _redactor not in logger.filters:
            logger.addFilter(_redactor)
