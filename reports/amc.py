"""The one place the product builds an AMC client for an instance."""

from functools import lru_cache

import requests
from django.conf import settings

from instances.endpoints import EndpointNotAllowed, check_amc_endpoint
from instances.models import AmcAccount, AmcInstance
from recomamp.amc import REGION_BASE_URLS, AmcClient, AmcCredentials, AmcError, DownloadPolicy


class AmcEndpointRefused(AmcError):
    """The account's API or token URL is not (or no longer) an allowed AMC endpoint."""


class _AllowlistedSession(requests.Session):
    """Checks the account's API and token endpoints against the allowlist before each call,
    with the settings of the moment: an account row that never went through validation, or a
    host taken off the list since, gets no request and no secret."""

    def __init__(self, *endpoints: str) -> None:
        super().__init__()
        self._endpoints = [endpoint.rstrip("/") for endpoint in endpoints]

    def request(self, method, url, *args, **kwargs):
        target = str(url)
        if any(target == e or target.startswith(e + "/") for e in self._endpoints):
            try:
                check_amc_endpoint(target)
            except EndpointNotAllowed as exc:
                raise AmcEndpointRefused(f"Refused to call the account's endpoint: {exc}") from None
        return super().request(method, url, *args, **kwargs)


def _session(*endpoints: str) -> _AllowlistedSession:
    session = _AllowlistedSession(*endpoints)
    session.trust_env = False  # no proxies or netrc credentials from the environment
    return session


def client_for_instance(instance: AmcInstance) -> AmcClient:
    """An AMC client for the instance's account: its region (or simulator) and credentials.

    Clients are kept per account version in each process, so their HTTP connections are reused
    from one task to the next; editing the account makes a new one.

    The engine owns retries (a failed attempt is retried with backoff by the next task), so
    the client retries once, briefly: a call's worst case (two attempts at the connect and
    read timeouts plus one short pause, about 75 s) stays inside a step's lease
    (RECOMAMP_LEASE_SECONDS, 90 s by default); downloads renew their lease as bytes arrive.
    """
    account = instance.account
    return _client(account.pk, account.updated_at, download_policy(), account)


def download_policy() -> DownloadPolicy:
    """Where result downloads may go (settings): AMC's S3 hosts, plus the simulator if set."""
    return DownloadPolicy(
        allowed_hosts=tuple(settings.AMC_DOWNLOAD_ALLOWED_HOSTS),
        trusted_origins=tuple(o for o in [settings.AMC_SIMULATOR_URL] if o),
        max_seconds=settings.AMC_DOWNLOAD_MAX_SECONDS,
    )


@lru_cache(maxsize=256)
def _client(account_pk, updated_at, policy: DownloadPolicy, account: AmcAccount) -> AmcClient:
    credentials = AmcCredentials(
        client_id=account.lwa_client_id or settings.AMC_CLIENT_ID,
        client_secret=account.lwa_client_secret or settings.AMC_CLIENT_SECRET,
        refresh_token=account.lwa_refresh_token,
        token_url=account.token_url or settings.AMC_TOKEN_URL,
    )
    base_url = account.api_base_url or REGION_BASE_URLS[account.region]
    return AmcClient(
        base_url=base_url,
        credentials=credentials,
        advertiser_id=account.account_id,
        marketplace_id=account.marketplace_id,
        session=_session(base_url, credentials.token_url),
        download_policy=policy,
        max_retries=1,
        backoff_max=min(5.0, settings.RECOMAMP_LEASE_SECONDS / 10),
    )
