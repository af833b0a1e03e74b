"""Fixtures of the AMC client tests: a scripted in-process transport and a clean token cache."""

from __future__ import annotations

import io
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from recomamp.amc import AmcClient, AmcCredentials, DownloadPolicy, token_cache

BASE_URL = "https://amc.test"
TOKEN_URL = "https://lwa.test/auth/o2/token"
CLIENT_ID = "amzn1.application-oa2-client.unit"
CLIENT_SECRET = "unit-secret-do-not-log"
REFRESH_TOKEN = "Atzr|unit-refresh-do-not-log"


@dataclass
class Seen:
    method: str
    url: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes | None
    timeout: Any

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs((self.body or b"").decode())


Reply = Callable[[Seen], requests.Response | BaseException] | BaseException | tuple


def response(
    status: int = 200,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple:
    """A scripted answer: (status, json body or None, headers, raw bytes)."""
    return (status, body, headers or {}, raw)


@dataclass
class FakeTransport(BaseAdapter):
    """Answers from per-(method, path) queues; records every request it saw."""

    routes: dict[tuple[str, str], deque] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    token_counter: int = 0

    def __post_init__(self) -> None:
        super().__init__()

    def add(self, method: str, path: str, *replies: Reply) -> None:
        self.routes.setdefault((method, path), deque()).extend(replies)

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        seen = Seen(
            request.method,
            request.url,
            parts.path,
            parse_qs(parts.query),
            dict(request.headers),
            body,
            timeout,
        )
        self.seen.append(seen)
        queue = self.routes.get((request.method, parts.path))
        if queue:
            reply = queue.popleft() if len(queue) > 1 else queue[0]
        elif parts.path == urlsplit(TOKEN_URL).path:
            self.token_counter += 1
            reply = response(
                200,
                {
                    "access_token": f"Atza|token-{self.token_counter}",
                    "expires_in": 3600,
                    "token_type": "bearer",
                },
            )
        else:
            reply = response(599, {"message": f"no route for {request.method} {parts.path}"})
        if callable(reply) and not isinstance(reply, BaseException):
            reply = reply(seen)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, requests.Response):
            return reply
        status, payload, headers, raw = reply
        out = requests.Response()
        out.status_code = status
        out.reason = "scripted"
        out.url = request.url
        out.request = request
        out.headers = CaseInsensitiveDict(headers)
        if raw is None:
            raw = b"" if payload is None else json.dumps(payload).encode()
            if payload is not None:
                out.headers.setdefault("Content-Type", "application/json")
        out.raw = io.BytesIO(raw)
        out.encoding = "utf-8"
        return out

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    token_cache.clear()
    yield
    token_cache.clear()


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def credentials() -> AmcCredentials:
    return AmcCredentials(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        token_url=TOKEN_URL,
    )


@pytest.fixture
def make_client(transport, credentials):
    made: list[AmcClient] = []

    def make(**overrides: Any) -> AmcClient:
        session = requests.Session()
        session.mount("https://", transport)
        options: dict[str, Any] = {
            "base_url": BASE_URL,
            "credentials": credentials,
            "advertiser_id": "ENTITY123",
            "marketplace_id": "ATVPDKIKX0DER",
            "session": session,
            "download_session": session,
            "max_retries": 3,
            "download_policy": DownloadPolicy(allowed_hosts=("bucket.test",)),
        }
        options.update(overrides)
        client = AmcClient(**options)
        client.sleeps = []  # type: ignore[attr-defined]
        client.sleep = client.sleeps.append  # type: ignore[attr-defined]
        made.append(client)
        return client

    yield make
    for client in made:
        client.session.close()


@pytest.fixture
def client(make_client) -> AmcClient:
    return make_client()


# The simulator's fixtures, imported so that `pytest tests/amc` runs the contract suite on its
# own; tests/fixtures/simulator.py supports being both imported and registered as a plugin.
from tests.fixtures.simulator import amc_sim, amc_simulator, make_amc_instance  # noqa: E402, F401
