"""Where an AMC account may send its refresh token and its API calls.

An account's `token_url` receives the refresh token and client secret, and its `api_base_url`
every bearer token: both must name a host on `settings.AMC_ALLOWED_HOSTS` over https (default
port), or be the configured simulator (`settings.AMC_SIMULATOR_URL`, the only http allowed).
Checked when an account is saved (field validators, services) and again before every outgoing
call (`reports.amc`), so a row written any other way still cannot send a secret elsewhere.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

_DEFAULT_PORTS = {"http": 80, "https": 443}


class EndpointNotAllowed(ValueError):
    """The URL is not an allowed AMC or Login with Amazon endpoint; the message says why."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        raise EndpointNotAllowed("The URL has an invalid port.") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    return scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme)


def check_amc_endpoint(url: str) -> None:
    """Raise EndpointNotAllowed unless `url` is https on an allowed host, or the simulator."""
    parts = urlsplit(url.strip())
    if parts.username is not None or parts.password is not None:
        raise EndpointNotAllowed("The URL must not carry a user name or password.")
    scheme, host, port = _origin(url)
    if not host:
        raise EndpointNotAllowed("The URL has no host.")
    simulator = settings.AMC_SIMULATOR_URL
    if simulator and (scheme, host, port) == _origin(simulator):
        return
    allowed = {name.rstrip(".").lower() for name in settings.AMC_ALLOWED_HOSTS}
    if host not in allowed:
        raise EndpointNotAllowed(
            f"The host '{host}' is not on the allowed AMC hosts (AMC_ALLOWED_HOSTS)."
        )
    if scheme != "https":
        raise EndpointNotAllowed("The URL must use https.")
    if port != 443:
        raise EndpointNotAllowed("The URL must use the default https port.")


def validate_amc_endpoint(url: str) -> None:
    """Field validator for an account's `api_base_url` and `token_url` (blank is allowed)."""
    if not url:
        return
    try:
        check_amc_endpoint(url)
    except EndpointNotAllowed as exc:
        raise ValidationError(str(exc), code="host_not_allowed") from None
