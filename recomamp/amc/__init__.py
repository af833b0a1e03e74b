"""Amazon Marketing Cloud API client (plain Python + requests, no Django).

from recomamp.amc import AmcClient, AmcCredentials, REGION_BASE_URLS

client = AmcClient(
    base_url=REGION_BASE_URLS["NA"],
    credentials=AmcCredentials(client_id, client_secret, refresh_token),
    advertiser_id=entity_id,
    marketplace_id="ATVPDKIKX0DER",
)
execution = client.create_execution("amcabc12345", sql=sql, window_start=s, window_end=e)
"""

from .auth import LWA_TOKEN_URL, AmcCredentials, TokenCache, token_cache
from .client import REGION_BASE_URLS, AmcClient
from .downloads import AMC_DOWNLOAD_HOSTS, DownloadPolicy
from .errors import (
    AmcAuthError,
    AmcBadRequest,
    AmcConnectionError,
    AmcDownloadExpired,
    AmcDownloadRefused,
    AmcError,
    AmcNotFound,
    AmcQueryError,
    AmcResultTooLarge,
    AmcServerError,
    AmcThrottled,
)
from .models import (
    TERMINAL_STATUSES,
    AmcExecution,
    ExecutionStatus,
    format_amc_timestamp,
    parse_amc_time,
)
from .retry import backoff_delay, parse_retry_after

__all__ = [
    "AMC_DOWNLOAD_HOSTS",
    "LWA_TOKEN_URL",
    "REGION_BASE_URLS",
    "TERMINAL_STATUSES",
    "AmcAuthError",
    "AmcBadRequest",
    "AmcClient",
    "AmcConnectionError",
    "AmcCredentials",
    "AmcDownloadExpired",
    "AmcDownloadRefused",
    "AmcError",
    "AmcExecution",
    "AmcNotFound",
    "AmcQueryError",
    "AmcResultTooLarge",
    "AmcServerError",
    "AmcThrottled",
    "DownloadPolicy",
    "ExecutionStatus",
    "TokenCache",
    "backoff_delay",
    "format_amc_timestamp",
    "parse_amc_time",
    "parse_retry_after",
    "token_cache",
]
