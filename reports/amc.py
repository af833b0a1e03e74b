"""The one place the product builds an AMC client for an instance."""

from functools import lru_cache

from django.conf import settings

from instances.models import AmcAccount, AmcInstance
from recomamp.amc import REGION_BASE_URLS, AmcClient, AmcCredentials


def client_for_instance(instance: AmcInstance) -> AmcClient:
    """An AMC client for the instance's account: its region (or simulator) and credentials.

    Clients are kept per account version in each process, so their HTTP connections are reused
    from one task to the next; editing the account makes a new one.
    """
    account = instance.account
    return _client(account.pk, account.updated_at, account)


@lru_cache(maxsize=256)
def _client(account_pk, updated_at, account: AmcAccount) -> AmcClient:
    credentials = AmcCredentials(
        client_id=account.lwa_client_id or settings.AMC_CLIENT_ID,
        client_secret=account.lwa_client_secret or settings.AMC_CLIENT_SECRET,
        refresh_token=account.lwa_refresh_token,
        token_url=account.token_url or settings.AMC_TOKEN_URL,
    )
    return AmcClient(
        base_url=account.api_base_url or REGION_BASE_URLS[account.region],
        credentials=credentials,
        advertiser_id=account.account_id,
        marketplace_id=account.marketplace_id,
    )
