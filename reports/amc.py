"""The one place the product builds an AMC client for an instance."""

from django.conf import settings

from instances.models import AmcInstance
from recomamp.amc import REGION_BASE_URLS, AmcClient, AmcCredentials


def client_for_instance(instance: AmcInstance) -> AmcClient:
    """An AMC client for the instance's account: its region (or simulator) and credentials."""
    account = instance.account
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
