"""Settings of the simulator, its default instances, and the AMC behaviour it had to guess.

UNCONFIRMED AMC BEHAVIOUR: the choices this simulator makes where AMC.md says *unconfirmed* or
says nothing. Each is implemented where noted; change it here first.

1. REJECTED status: never produced. Executions end SUCCEEDED, FAILED or CANCELLED.
2. Cancel: both `PUT .../workflowExecutions/{id}` with `{"status": "CANCELLED"}` and
   `DELETE .../workflowExecutions/{id}` cancel a PENDING or RUNNING execution (200 with the
   execution). Cancelling a finished execution is a 400 (`code` BAD_REQUEST).
3. Per-instance concurrency: a submit while `concurrency_limit` executions of the instance are
   PENDING or RUNNING is refused with 429 TOO_MANY_REQUESTS and `Retry-After` (seconds,
   CONCURRENCY_RETRY_AFTER_SECONDS) and no execution is created. (Real AMC may queue instead.)
4. List filters: `GET .../workflowExecutions` accepts `minCreationTime` and `maxCreationTime`
   (`yyyy-MM-ddTHH:mm:ss`, UTC, a trailing Z allowed), `status`, `maxResults` (1..100, default
   100) and `nextToken`; newest first; the answer is `{"executions": [...], "nextToken": ...}`
   and every execution carries its `sqlQuery` (also as `workflow.sqlQuery`).
5. Retention (data_rules.py): a window whose start, as a date in the window's own time zone, is
   more than RETENTION_DAYS before today is accepted at submit but the execution ends FAILED
   with errorCode/failureReason INVALID_TIME_WINDOW and a message naming the earliest date.
6. Data lag (data_rules.py): events are visible only through the end of the UTC day
   DATA_LAG_DAYS before today; a window reaching past that runs and returns only the rows that
   exist (a window wholly inside the lag returns headers only). Nothing fails.
7. Aggregation threshold (data_rules.py): an output row is dropped unless at least
   `aggregation_threshold` distinct users stand behind it. The rows are dropped from the final
   output after the whole query has run (window functions, ORDER BY and LIMIT included), so
   ranks and running totals are those of the full result. The threshold cannot be set below
   AMC's 100 (MIN_AGGREGATION_THRESHOLD) unless the simulator runs in test mode. Users are
   traced through CTEs,
   subqueries and joins: an aggregating SELECT that can see `user_id` counts them with
   COUNT(DISTINCT user_id); one that cannot takes the largest count among the rows it
   aggregates; a join row takes the largest count of its sides; a row of a raw table is one
   user. The exact AMC rule is not public; this one never lets a row through that AMC's
   "at least N users" rule would drop, and keeps rows whose users came from joined tables.
8. downloadUrls before SUCCEEDED: 400 BAD_REQUEST "Execution with ID ... is unavailable for
   download". Pre-signed URLs expire after `download_url_ttl_seconds` (default 900).
9. Header checks, in this order: missing or bad bearer token 401 UNAUTHORIZED; missing or
   different Amazon-Advertising-API-ClientId 401 UNAUTHORIZED; unknown instance (or our UUID)
   404 NOT_FOUND; missing or different Amazon-Advertising-API-AdvertiserId 403 FORBIDDEN;
   missing or different Amazon-Advertising-API-MarketplaceId 400 BAD_REQUEST.
10. Submit answers 200 with the execution (status PENDING). `workflowId` (saved workflows) is
    answered 404 "Workflow ... not found": this simulator has no saved workflows.
11. Injected and internal failures: errorCode/failureReason INTERNAL_ERROR; queries that fail
    while running (not at compile time): QUERY_EXECUTION_FAILED with DuckDB's text in
    errorDetails.
12. Injected faults (429 with Retry-After, 500, stalls) hit AMC API calls only, after the
    header checks; the token endpoint and the pre-signed downloads are never faulted.
13. CUSTOM_PARAMETER values come in the submit body's `parameterValues`, an object of name
    to JSON value (the field is used by public client code; not confirmed against AMC's API
    reference). A list inside `IN (...)` stands for its items; elsewhere it is an array.
    A missing value is a 400 at submit naming the parameter.
14. Privacy rules (amc_sql.check_privacy) are checked at submit, after the query compiles:
    `SELECT *` and `t.*` are refused in any SELECT of the query (not only the outermost),
    `user_id` in the final output (as a column or an alias), and RIGHT JOIN anywhere. Each is
    a 400 BAD_REQUEST "Invalid query: <rule>" with the fix in `details`.
15. EXTEND_TIME_WINDOW: only the instructional form `FROM TABLE(EXTEND_TIME_WINDOW('table',
    'P<start offset>', 'P<end offset>'))` with ISO-8601 durations; the offsets move the
    window's start back and its end forward for that table only; retention and the data lag
    still apply.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.recomamp-demo"
DEFAULT_CLIENT_SECRET = "recomamp-demo-secret"
REFRESH_TOKEN_PREFIX = "Atzr|"
DEMO_REFRESH_TOKEN = "Atzr|recomamp-demo-refresh-token"
DEFAULT_MARKETPLACE_ID = "ATVPDKIKX0DER"

RETENTION_DAYS = 425
DATA_LAG_DAYS = 14
AGGREGATION_THRESHOLD = 100
# AMC's minimum; a lower threshold needs SimulatorConfig.test_mode (never the demo).
MIN_AGGREGATION_THRESHOLD = 100
CONCURRENCY_LIMIT = 10
CONCURRENCY_RETRY_AFTER_SECONDS = 1
THROTTLE_RETRY_AFTER_SECONDS = 1
MAX_RESULT_ROWS = 1_000_000


@dataclass(frozen=True)
class InstanceSettings:
    """One simulated AMC instance. None latencies and threshold fall back to the config's."""

    instance_id: str
    advertiser_id: str
    marketplace_id: str = DEFAULT_MARKETPLACE_ID
    seed: int = 1
    concurrency_limit: int = CONCURRENCY_LIMIT
    pending_seconds: float | None = None
    running_seconds: float | None = None
    aggregation_threshold: int | None = None

    def __post_init__(self) -> None:
        if not self.instance_id or not self.advertiser_id:
            raise ValueError("instance_id and advertiser_id are required")
        if self.concurrency_limit < 1:
            raise ValueError("concurrency_limit must be at least 1")
        for name in ("pending_seconds", "running_seconds"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.aggregation_threshold is not None and self.aggregation_threshold < 1:
            raise ValueError("aggregation_threshold must be at least 1")

    @classmethod
    def from_dict(cls, instance_id: str, data: dict) -> InstanceSettings:
        known = {
            "advertiser_id",
            "marketplace_id",
            "seed",
            "concurrency_limit",
            "pending_seconds",
            "running_seconds",
            "aggregation_threshold",
        }
        unknown = set(data) - known - {"instance_id"}
        if unknown:
            raise ValueError(f"unknown instance fields: {', '.join(sorted(unknown))}")
        values = {key: data[key] for key in known if key in data and data[key] is not None}
        for key in ("seed", "concurrency_limit", "aggregation_threshold"):
            if key in values:
                values[key] = _integer(key, values[key])
        for key in ("pending_seconds", "running_seconds"):
            if key in values:
                values[key] = _number(key, values[key])
        for key in ("advertiser_id", "marketplace_id"):
            if key in values and not isinstance(values[key], str):
                raise ValueError(f"{key} must be a string")
        return cls(instance_id=instance_id, **values)

    def as_dict(self) -> dict:
        return {
            "instance_id": self.instance_id,
            "advertiser_id": self.advertiser_id,
            "marketplace_id": self.marketplace_id,
            "seed": self.seed,
            "concurrency_limit": self.concurrency_limit,
            "pending_seconds": self.pending_seconds,
            "running_seconds": self.running_seconds,
            "aggregation_threshold": self.aggregation_threshold,
        }


@dataclass(frozen=True)
class Faults:
    """Probabilities (0..1) applied to each AMC API call of one instance, and a hostile AMC:
    `download_url` is handed out by downloadUrls instead of the signed URL; the signed
    download answers 302 to `download_redirect`."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.0
    fail_query_rate: float = 0.0
    download_url: str = ""
    download_redirect: str = ""

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_500", "slow_rate", "fail_query_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.rate_429 + self.rate_500 > 1.0:
            raise ValueError("rate_429 + rate_500 must not exceed 1")
        if self.slow_seconds < 0:
            raise ValueError("slow_seconds must not be negative")

    @classmethod
    def from_dict(cls, data: dict) -> Faults:
        names = {"rate_429", "rate_500", "slow_rate", "slow_seconds", "fail_query_rate"}
        texts = {"download_url", "download_redirect"}
        unknown = set(data) - names - texts
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        for key in texts & set(data):
            if not isinstance(data[key], str):
                raise ValueError(f"{key} must be a string")
        return cls(
            **{key: value if key in texts else _number(key, value) for key, value in data.items()}
        )

    def as_dict(self) -> dict:
        return {
            "rate_429": self.rate_429,
            "rate_500": self.rate_500,
            "slow_rate": self.slow_rate,
            "slow_seconds": self.slow_seconds,
            "fail_query_rate": self.fail_query_rate,
            "download_url": self.download_url,
            "download_redirect": self.download_redirect,
        }


@dataclass(frozen=True)
class RuntimeSettings:
    """What `PUT /_simulator/config` may change while the server runs."""

    aggregation_threshold: int = AGGREGATION_THRESHOLD
    access_token_ttl_seconds: float = 3600.0
    download_url_ttl_seconds: float = 900.0

    def updated(self, data: dict) -> RuntimeSettings:
        unknown = set(data) - {
            "aggregation_threshold",
            "access_token_ttl_seconds",
            "download_url_ttl_seconds",
        }
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(sorted(unknown))}")
        values = {}
        if "aggregation_threshold" in data:
            values["aggregation_threshold"] = _integer(
                "aggregation_threshold", data["aggregation_threshold"]
            )
            if values["aggregation_threshold"] < 1:
                raise ValueError("aggregation_threshold must be at least 1")
        for key in ("access_token_ttl_seconds", "download_url_ttl_seconds"):
            if key in data:
                values[key] = _number(key, data[key])
                if values[key] < 0:
                    raise ValueError(f"{key} must not be negative")
        return replace(self, **values)

    def as_dict(self) -> dict:
        return {
            "aggregation_threshold": self.aggregation_threshold,
            "access_token_ttl_seconds": self.access_token_ttl_seconds,
            "download_url_ttl_seconds": self.download_url_ttl_seconds,
        }


@dataclass(frozen=True)
class SimulatorConfig:
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    dataset_size: str = "demo"  # "demo" or "test" (see dataset.SIZES)
    pending_seconds: float = 0.2
    running_seconds: float = 0.5
    retention_days: int = RETENTION_DAYS
    data_lag_days: int = DATA_LAG_DAYS
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    instances: tuple[InstanceSettings, ...] = ()
    # Generate the datasets of `instances` at start() instead of at their first query.
    pregenerate: bool = False
    # Control endpoints (/_simulator/...) answer loopback clients only unless this is set.
    allow_remote_control: bool = False
    # Test mode: aggregation thresholds below AMC's minimum (MIN_AGGREGATION_THRESHOLD) are
    # accepted, so that small test datasets return rows. The demo never sets it.
    test_mode: bool = False
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))


DEFAULT_INSTANCES: tuple[InstanceSettings, ...] = (
    InstanceSettings("amcrecodemo01", advertiser_id="ENTITYDEMO1A", seed=1),
    InstanceSettings("amcrecodemo02", advertiser_id="ENTITYDEMO1A", seed=2),
    InstanceSettings("amcrecodemo03", advertiser_id="ENTITYDEMO2B", seed=3),
)


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    return float(value)


def _integer(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError(f"{name} must be an integer")
    return value
