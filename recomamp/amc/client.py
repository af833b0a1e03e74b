"""HTTP client of the AMC reporting API (ad-hoc executions, status, results, cancel).

Plain Python over requests, no Django: the product's services build an `AmcClient` from an
instance's fields, scripts build one by hand. The same code talks to the real AMC and to the
simulator; only `base_url` and the credentials' `token_url` differ.

Retries: 429, 5xx and connection errors are retried with exponential backoff and full jitter
(Retry-After honoured, capped by `backoff_max`); other 4xx never are, except one token refresh
and retry on a 401. Submitting an execution is not idempotent, so `create_execution` retries
only when AMC cannot have created anything: a 429, or a connection that was never established.
A 5xx, a read timeout or a reset after the request went out raise at once (`AmcServerError`,
or `AmcConnectionError` with `request_sent=True`); the caller must then reconcile, e.g. with
`find_matching_executions()` over `list_executions()`, before submitting again.

Downloads: every hop of a result download is held to a `DownloadPolicy` (downloads.py): https
to AMC's S3 hosts, no private addresses, redirects checked, a total deadline. Neither session
reads proxies or credentials from the environment (`trust_env` off).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import IO, Any
from urllib.parse import quote, urljoin, urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError

from .auth import AmcCredentials, token_cache
from .downloads import DownloadPolicy, guarded_download_session, redact_urllib3_logs
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
    AmcExecution,
    format_amc_timestamp,
    format_utc_timestamp,
    window_instant,
    zone,
)
from .retry import backoff_delay, parse_retry_after

logger = logging.getLogger("recomamp.amc")
redact_urllib3_logs()  # pre-signed URLs in urllib3's DEBUG lines lose their query strings

#: Regional hosts of the Amazon Ads API (AMC.md).
REGION_BASE_URLS: dict[str, str] = {
    "NA": "https://advertising-api.amazon.com",
    "EU": "https://advertising-api-eu.amazon.com",
    "FE": "https://advertising-api-fe.amazon.com",
}

USER_AGENT = "RecomAMP-AMC-client/1.0"
_REQUEST_ID_HEADERS = ("x-amzn-RequestId", "x-amz-request-id", "x-request-id")
_ERROR_BODY_LIMIT = 64 * 1024
_DOWNLOAD_CHUNK = 64 * 1024
_LIST_MAX_PAGES = 100

# AMC's cancel verb is unconfirmed (AMC.md says PUT or DELETE). We send PUT on the execution
# with {"status": "CANCELLED"}; this is the only place that knows it.
_CANCEL_METHOD = "PUT"
_CANCEL_BODY = {"status": "CANCELLED"}

# The request field carrying the values of CUSTOM_PARAMETER('name') in the SQL: UNCONFIRMED
# against AMC's published API reference (public client code sends it on workflowExecutions as
# an object of name -> value); the simulator reads the same field. Only this constant knows it.
_PARAMETER_VALUES_FIELD = "parameterValues"

# AMC's list filter is unconfirmed: we send minCreationTime as UTC ISO 8601 and also filter
# the answer ourselves when an execution carries its creation time.
_LIST_MIN_CREATION_PARAM = "minCreationTime"


class _Policy(Enum):
    """What may be retried for one call."""

    IDEMPOTENT = "idempotent"  # 429, 5xx, any connection error
    SUBMIT = "submit"  # 429 and never-sent connection errors only


class AmcClient:
    """One AMC account (advertiser/entity id + marketplace) in one region.

    Thread-safe as far as requests.Session is; tokens are shared process-wide per account.
    Test hooks: `sleep` and `rng` attributes (time.sleep and a random.Random by default).
    A caller's own `session` (API and LWA calls) and `download_session` are used as given
    (tests, special transports); the client's own ignore the environment, and its download
    session checks every socket against the download policy.
    """

    def __init__(
        self,
        *,
        base_url: str,
        credentials: AmcCredentials,
        advertiser_id: str,
        marketplace_id: str,
        timeout: tuple[float, float] = (5, 30),
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        session: requests.Session | None = None,
        download_policy: DownloadPolicy | None = None,
        download_session: requests.Session | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required")
        if not advertiser_id:
            raise ValueError("advertiser_id (the account's entity id) is required")
        if not marketplace_id:
            raise ValueError("marketplace_id is required")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.advertiser_id = advertiser_id
        self.marketplace_id = marketplace_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.download_policy = download_policy or DownloadPolicy()
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            session.trust_env = False
        self.session = session
        self._owns_download_session = download_session is None
        self.download_session = download_session or guarded_download_session(self.download_policy)
        self.sleep: Callable[[float], None] = time.sleep
        self.rng = random.Random()

    def __repr__(self) -> str:
        return (
            f"AmcClient(base_url={self.base_url!r}, advertiser_id={self.advertiser_id!r}, "
            f"marketplace_id={self.marketplace_id!r})"
        )

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_session:
            self.session.close()
        if self._owns_download_session:
            self.download_session.close()

    def __enter__(self) -> AmcClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- executions -----------------------------------------------------------------------

    def create_execution(
        self,
        instance_id: str,
        *,
        sql: str,
        window_start: datetime,
        window_end: datetime,
        time_zone: str = "UTC",
        parameter_values: Mapping[str, Any] | None = None,
    ) -> AmcExecution:
        """Submit an ad-hoc execution of `sql` over [window_start, window_end) in `time_zone`.

        `parameter_values` are the typed values of the SQL's CUSTOM_PARAMETER('name') calls
        (strings, numbers, booleans, None, lists of them; dates as ISO strings), sent to AMC
        beside the SQL instead of rendered into it.
        Not idempotent: see the module docstring for what is retried and how to reconcile.
        Raises AmcQueryError (with AMC's text in `.details`) when AMC refuses the SQL.
        """
        if not sql or not sql.strip():
            raise ValueError("sql is required")
        body = self.execution_body(
            sql=sql,
            window_start=window_start,
            window_end=window_end,
            time_zone=time_zone,
            parameter_values=parameter_values,
        )
        data = self._json(
            "POST",
            self._executions_path(instance_id),
            json=body,
            policy=_Policy.SUBMIT,
            query_errors=True,
        )
        execution = AmcExecution.from_json(instance_id, data)
        if not execution.execution_id:
            raise AmcServerError(
                "AMC accepted the execution but returned no workflowExecutionId", body=data
            )
        return execution

    @staticmethod
    def execution_body(
        *,
        sql: str,
        window_start: datetime,
        window_end: datetime,
        time_zone: str = "UTC",
        parameter_values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The exact JSON body of an ad-hoc execution (AMC.md), without sending it."""
        zone(time_zone)  # fail early on an unknown zone
        start = format_amc_timestamp(window_start, time_zone)
        end = format_amc_timestamp(window_end, time_zone)
        if start >= end:
            raise ValueError(f"empty time window: {start} .. {end} ({time_zone})")
        body: dict[str, Any] = {
            "workflow": {"sqlQuery": sql},
            "timeWindowType": "EXPLICIT",
            "timeWindowStart": start,
            "timeWindowEnd": end,
            "timeWindowTimeZone": time_zone,
            "outputFormat": "CSV",
        }
        if parameter_values:
            body[_PARAMETER_VALUES_FIELD] = parameter_values_json(parameter_values)
        return body

    def get_execution(self, instance_id: str, execution_id: str) -> AmcExecution:
        data = self._json("GET", self._execution_path(instance_id, execution_id))
        execution = AmcExecution.from_json(instance_id, data)
        if not execution.execution_id:
            execution = AmcExecution.from_json(
                instance_id, {**data, "workflowExecutionId": execution_id}
            )
        return execution

    def list_executions(
        self, instance_id: str, *, min_creation_time: datetime | None = None
    ) -> list[AmcExecution]:
        """Executions of the instance, following `nextToken` pages when AMC gives them."""
        params: dict[str, str] = {}
        if min_creation_time is not None:
            params[_LIST_MIN_CREATION_PARAM] = format_utc_timestamp(min_creation_time)
            floor = min_creation_time
            if floor.tzinfo is None:
                floor = floor.replace(tzinfo=UTC)
        executions: list[AmcExecution] = []
        for _ in range(_LIST_MAX_PAGES):
            data = self._json("GET", self._executions_path(instance_id), params=params or None)
            items = data.get("executions")
            if items is None:
                items = data.get("workflowExecutions", [])
            for item in items or []:
                if isinstance(item, dict):
                    executions.append(AmcExecution.from_json(instance_id, item))
            next_token = data.get("nextToken")
            if not next_token:
                break
            params = {**params, "nextToken": str(next_token)}
        if min_creation_time is not None:
            executions = [
                e for e in executions if e.creation_time is None or e.creation_time >= floor
            ]
        return executions

    def find_matching_executions(
        self,
        instance_id: str,
        *,
        sql: str,
        window_start: datetime,
        window_end: datetime,
        time_zone: str = "UTC",
        submitted_after: datetime,
    ) -> list[AmcExecution]:
        """Executions that look like a submit whose outcome is unknown (5xx, read timeout).

        Matches on the SQL and the window (as UTC instants) AMC echoes back; an execution that
        does not echo them is not matched. `submitted_after` should be a little before the
        uncertain submit.
        """
        body = self.execution_body(
            sql=sql, window_start=window_start, window_end=window_end, time_zone=time_zone
        )
        wanted = (
            window_instant(body["timeWindowStart"], time_zone),
            window_instant(body["timeWindowEnd"], time_zone),
        )
        found = []
        for execution in self.list_executions(instance_id, min_creation_time=submitted_after):
            if execution.sql_query == sql and execution.window_utc == wanted:
                found.append(execution)
        return found

    def cancel_execution(self, instance_id: str, execution_id: str) -> AmcExecution | None:
        """Ask AMC to cancel; returns the execution when AMC echoes it, else None."""
        data = self._json(
            _CANCEL_METHOD, self._execution_path(instance_id, execution_id), json=_CANCEL_BODY
        )
        if data.get("workflowExecutionId") or data.get("status"):
            return AmcExecution.from_json(
                instance_id, {"workflowExecutionId": execution_id, **data}
            )
        return None

    def get_download_urls(self, instance_id: str, execution_id: str) -> list[str]:
        """Pre-signed URLs of the CSV result files; they expire, so fetch them just in time."""
        path = self._execution_path(instance_id, execution_id) + "/downloadUrls"
        data = self._json("GET", path)
        urls = data.get("downloadUrls") or []
        return [urljoin(self.base_url + "/", str(u)) for u in urls if u]

    # -- downloads ------------------------------------------------------------------------

    def download_results(
        self, url: str, *, max_bytes: int, chunk_size: int = _DOWNLOAD_CHUNK
    ) -> Iterator[bytes]:
        """Stream one result file, raising AmcResultTooLarge past `max_bytes`.

        A generator: the request is made on the first `next()`. A URL the server refuses
        raises AmcDownloadExpired (get fresh URLs and start again); one the download policy
        refuses raises AmcDownloadRefused; one that takes longer than the policy's
        `max_seconds` raises AmcConnectionError. Pre-signed URLs get no AMC headers: S3
        rejects a request that carries two kinds of authentication.
        """
        deadline = time.monotonic() + self.download_policy.max_seconds
        response = self._open_download(url, max_bytes=max_bytes, deadline=deadline)
        try:
            received = 0
            try:
                for chunk in response.iter_content(chunk_size=chunk_size):
                    if not chunk:
                        continue
                    if time.monotonic() > deadline:
                        raise AmcConnectionError(
                            "download took longer than "
                            f"{self.download_policy.max_seconds:g} s (after {received} bytes)"
                        )
                    received += len(chunk)
                    if received > max_bytes:
                        raise AmcResultTooLarge(
                            f"result is larger than {max_bytes} bytes",
                            max_bytes=max_bytes,
                            size=received,
                            status=response.status_code,
                        )
                    yield chunk
            except (requests.RequestException, HTTPError) as exc:
                raise AmcConnectionError(
                    f"download interrupted after {received} bytes: {type(exc).__name__}"
                ) from None
        finally:
            response.close()

    def download_to(self, url: str, fileobj: IO[bytes], *, max_bytes: int) -> int:
        """Write one result file into `fileobj`; returns the bytes written.

        On any error a seekable `fileobj` is truncated back to where it started.
        """
        start = fileobj.tell() if _seekable(fileobj) else None
        written = 0
        try:
            for chunk in self.download_results(url, max_bytes=max_bytes):
                fileobj.write(chunk)
                written += len(chunk)
        except BaseException:
            if start is not None:
                fileobj.seek(start)
                fileobj.truncate()
            raise
        return written

    def _open_download(self, url: str, *, max_bytes: int, deadline: float) -> requests.Response:
        """GET the file, following at most the policy's redirects, each hop checked first."""
        url = urljoin(self.base_url + "/", url)
        hops = 0
        while True:
            self.download_policy.check_url(url)
            response = self._send(
                "GET",
                url,
                authorized=False,
                policy=_Policy.IDEMPOTENT,
                classify=_download_error,
                log_event="amc download",
                session=self.download_session,
                deadline=deadline,
                redirects=True,
                stream=True,
                allow_redirects=False,
            )
            if not response.is_redirect:
                break
            location = response.headers.get("Location", "")
            response.close()
            hops += 1
            if not location:
                raise AmcDownloadRefused(
                    "a redirect without a Location", status=response.status_code
                )
            if hops > self.download_policy.max_redirects:
                raise AmcDownloadRefused(
                    f"more than {self.download_policy.max_redirects} redirects",
                    status=response.status_code,
                )
            url = urljoin(url, location)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            response.close()
            raise AmcResultTooLarge(
                f"result is {declared} bytes, more than the {max_bytes} allowed",
                max_bytes=max_bytes,
                size=int(declared),
                status=response.status_code,
            )
        return response

    # -- HTTP plumbing --------------------------------------------------------------------

    def _executions_path(self, instance_id: str) -> str:
        if not instance_id:
            raise ValueError("instance_id (AMC's own string id) is required")
        return f"/amc/reporting/{quote(instance_id, safe='')}/workflowExecutions"

    def _execution_path(self, instance_id: str, execution_id: str) -> str:
        if not execution_id:
            raise ValueError("execution_id is required")
        return f"{self._executions_path(instance_id)}/{quote(execution_id, safe='')}"

    def _api_headers(self, access_token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {access_token}",
            "Amazon-Advertising-API-ClientId": self.credentials.client_id,
            "Amazon-Advertising-API-AdvertiserId": self.advertiser_id,
            "Amazon-Advertising-API-MarketplaceId": self.marketplace_id,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }

    def _json(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        policy: _Policy = _Policy.IDEMPOTENT,
        query_errors: bool = False,
    ) -> dict[str, Any]:
        def classify(response: requests.Response) -> AmcError:
            return _api_error(response, query_errors=query_errors)

        response = self._send(
            method,
            self.base_url + path,
            authorized=True,
            policy=policy,
            classify=classify,
            json=json,
            params=params,
        )
        try:
            if not response.content:
                return {}
            data = response.json()
        except ValueError:
            raise AmcServerError(
                "AMC answered with a body that is not JSON",
                status=response.status_code,
                request_id=_request_id(response),
            ) from None
        if not isinstance(data, dict):
            raise AmcServerError(
                "AMC answered with JSON that is not an object",
                status=response.status_code,
                request_id=_request_id(response),
            )
        return data

    def _access_token(self, *, rejected: str | None = None) -> str:
        return token_cache.get(self.credentials.cache_key(), self._fetch_token, rejected=rejected)

    def _fetch_token(self) -> tuple[str, float]:
        """Trade the refresh token for an access token at LWA (retried like any idempotent call).

        LWA refusing the credentials becomes AmcAuthError; LWA being down or throttling keeps
        its transient type, so callers do not mistake an outage for a revoked account.
        """
        creds = self.credentials
        try:
            response = self._send(
                "POST",
                creds.token_url,
                authorized=False,
                policy=_Policy.IDEMPOTENT,
                classify=lambda r: _api_error(r, query_errors=False),
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": creds.refresh_token,
                    "client_id": creds.client_id,
                    "client_secret": creds.client_secret,
                },
                headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                log_event="lwa token",
            )
        except AmcError as exc:
            if exc.retryable:
                raise
            raise AmcAuthError(
                f"Login with Amazon refused the token refresh: {exc.message or exc.code}",
                status=exc.status,
                code=exc.code,
                details=exc.details,
                request_id=exc.request_id,
                body=exc.body,
            ) from None
        try:
            data = response.json()
            token = str(data["access_token"])
            expires_in = float(data.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise AmcAuthError(
                "Login with Amazon answered without an access token",
                status=response.status_code,
                request_id=_request_id(response),
            ) from None
        if not token:
            raise AmcAuthError("Login with Amazon returned an empty access token")
        return token, expires_in

    def _send(
        self,
        method: str,
        url: str,
        *,
        authorized: bool,
        policy: _Policy,
        classify: Callable[[requests.Response], AmcError],
        log_event: str = "amc request",
        headers: dict[str, str] | None = None,
        session: requests.Session | None = None,
        deadline: float | None = None,
        redirects: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """One logical call: attempts, backoff, the single 401 refresh. Returns a 2xx (or a
        redirect, when `redirects`). No retry starts after `deadline` (time.monotonic())."""
        session = session or self.session
        log_path = urlsplit(url).path  # never the query: pre-signed URLs carry signatures
        retries = 0
        attempt = 0
        refreshed = False
        rejected: str | None = None
        while True:
            attempt += 1
            request_headers = dict(headers or {})
            token = None
            if authorized:
                token = self._access_token(rejected=rejected)
                request_headers.update(self._api_headers(token))
            started = time.monotonic()
            try:
                response = session.request(
                    method, url, headers=request_headers, timeout=self.timeout, **kwargs
                )
            except requests.RequestException as exc:
                error = _connection_error(exc)
                self._log(log_event, method, log_path, None, attempt, started, error=error)
                if self._should_retry(error, policy, retries, deadline):
                    self._pause(retries, None, log_path)
                    retries += 1
                    continue
                raise error from None
            self._log(
                log_event,
                method,
                log_path,
                response.status_code,
                attempt,
                started,
                request_id=_request_id(response),
            )
            if 200 <= response.status_code < 300 or (redirects and response.is_redirect):
                return response
            if response.status_code == 401 and authorized and not refreshed:
                # Token revoked or expired early: refresh once (unless another thread already
                # did) and retry once; a second 401 is final.
                refreshed = True
                rejected = token
                response.close()
                continue
            error = classify(response)
            response.close()
            if self._should_retry(error, policy, retries, deadline):
                self._pause(retries, getattr(error, "retry_after", None), log_path)
                retries += 1
                continue
            raise error

    def _should_retry(
        self, error: AmcError, policy: _Policy, retries: int, deadline: float | None = None
    ) -> bool:
        if retries >= self.max_retries or not error.retryable:
            return False
        if deadline is not None and time.monotonic() >= deadline:
            return False
        if policy is _Policy.IDEMPOTENT:
            return True
        # A submit: retry only when AMC cannot have created the execution.
        if isinstance(error, AmcThrottled):
            return True
        return isinstance(error, AmcConnectionError) and not error.request_sent

    def _pause(self, retries: int, retry_after: float | None, log_path: str) -> None:
        delay = backoff_delay(
            retries,
            base=self.backoff_base,
            cap=self.backoff_max,
            retry_after=retry_after,
            rng=self.rng,
        )
        logger.info(
            "amc retry in %.2fs: %s (retry %d of %d)",
            delay,
            log_path,
            retries + 1,
            self.max_retries,
            extra={"amc_path": log_path, "amc_delay": delay, "amc_retry": retries + 1},
        )
        self.sleep(delay)

    @staticmethod
    def _log(
        event: str,
        method: str,
        path: str,
        status: int | None,
        attempt: int,
        started: float,
        *,
        request_id: str | None = None,
        error: AmcError | None = None,
    ) -> None:
        duration_ms = (time.monotonic() - started) * 1000.0
        outcome = status if status is not None else type(error).__name__
        level = logging.INFO if status is not None and status < 400 else logging.WARNING
        logger.log(
            level,
            "%s %s %s -> %s attempt=%d duration_ms=%.1f%s",
            event,
            method,
            path,
            outcome,
            attempt,
            duration_ms,
            f" request_id={request_id}" if request_id else "",
            extra={
                "amc_method": method,
                "amc_path": path,
                "amc_status": status,
                "amc_attempt": attempt,
                "amc_duration_ms": round(duration_ms, 1),
                "amc_request_id": request_id,
            },
        )


# -- response classification ----------------------------------------------------------------


def parameter_values_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """CUSTOM_PARAMETER values as JSON: scalars and lists keep their type; dates become ISO
    strings; anything else is a ValueError naming the parameter."""

    def convert(name: str, value: Any, *, top: bool = True) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S")
        if isinstance(value, date):
            return value.isoformat()
        if top and isinstance(value, list | tuple | set | frozenset):
            items = sorted(value) if isinstance(value, set | frozenset) else value
            return [convert(name, item, top=False) for item in items]
        raise ValueError(f"parameter value {name!r} has an unsupported type {type(value).__name__}")

    out = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"parameter names must be non-empty strings, not {name!r}")
        out[name] = convert(name, value)
    return out


def _seekable(fileobj: IO[bytes]) -> bool:
    try:
        return bool(fileobj.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def _request_id(response: requests.Response) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return value
    return None


def _read_error_body(response: requests.Response) -> tuple[Any, str]:
    """The error body, decoded when JSON, read at most _ERROR_BODY_LIMIT bytes."""
    try:
        raw = b""
        for chunk in response.iter_content(chunk_size=8192):
            raw += chunk
            if len(raw) >= _ERROR_BODY_LIMIT:
                break
    except (requests.RequestException, HTTPError):
        raw = b""
    text = raw[:_ERROR_BODY_LIMIT].decode(response.encoding or "utf-8", errors="replace")
    try:
        return json.loads(text), text
    except ValueError:
        return None, text


def _as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _error_fields(response: requests.Response) -> dict[str, Any]:
    data, text = _read_error_body(response)
    code = message = details = None
    if isinstance(data, dict):
        code = _as_text(data.get("code") or data.get("errorCode") or data.get("error"))
        message = _as_text(
            data.get("message")
            or data.get("errorMessage")
            or data.get("error_description")
            or data.get("Message")
        )
        details = _as_text(data.get("details") or data.get("errorDetails"))
    elif text.strip():
        message = text.strip()[:500]
    return {
        "status": response.status_code,
        "code": code,
        "message": message or response.reason or "",
        "details": details,
        "request_id": _request_id(response),
        "body": data if data is not None else (text or None),
    }


def _api_error(response: requests.Response, *, query_errors: bool) -> AmcError:
    fields = _error_fields(response)
    message = fields.pop("message")
    status = response.status_code
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return AmcThrottled(message, retry_after=retry_after, **fields)
    if status in (401, 403):
        return AmcAuthError(message, **fields)
    if status == 404:
        return AmcNotFound(message, **fields)
    if status in (400, 422):
        return (AmcQueryError if query_errors else AmcBadRequest)(message, **fields)
    if status >= 500:
        return AmcServerError(message, **fields)
    return AmcError(message, **fields)


def _download_error(response: requests.Response) -> AmcError:
    """A failed result download, from the status alone: the body comes from a storage server,
    not from AMC, and is never read or copied into a message."""
    status = response.status_code
    fields = {"status": status, "request_id": _request_id(response)}
    if status in (400, 401, 403, 404, 410):
        return AmcDownloadExpired(f"the result URL was refused (HTTP {status})", **fields)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return AmcThrottled("result download throttled", retry_after=retry_after, **fields)
    if status >= 500:
        return AmcServerError(f"result download failed (HTTP {status})", **fields)
    return AmcError(f"result download failed (HTTP {status})", **fields)


def _connection_error(exc: requests.RequestException) -> AmcConnectionError:
    sent = not _never_sent(exc)
    kind = type(exc).__name__
    message = f"could not connect to AMC ({kind})" if not sent else f"no answer from AMC ({kind})"
    return AmcConnectionError(message, request_sent=sent)


def _never_sent(exc: BaseException) -> bool:
    """True only when the TCP/TLS connection was never made, so the request cannot have run."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ReadTimeout):
        return False
    for arg in exc.args:
        reason = getattr(arg, "reason", arg)
        if isinstance(reason, NewConnectionError | ConnectTimeoutError):
            return True
    return False
