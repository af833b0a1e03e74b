"""Result downloads are held to the download policy: where they may go, how long they may take,
what they may log and what of a storage server's answer reaches a person."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from recomamp.amc import (
    AmcClient,
    AmcConnectionError,
    AmcCredentials,
    AmcDownloadExpired,
    AmcDownloadRefused,
    DownloadPolicy,
)
from tests.amc.conftest import response
from tests.fixtures.http import QuietHandler, loopback_server

CSV_BODY = b"campaign,impressions\nA,100\nB,200\n"

FILE_PATH = "/results/part-0.csv"


def test_a_host_off_the_allowlist_is_refused_before_any_request(client, transport):
    with pytest.raises(AmcDownloadRefused, match="evil.test is not an allowed download host"):
        list(client.download_results("https://evil.test/x.csv?sig=1", max_bytes=100))
    assert transport.seen == []


@pytest.mark.parametrize(
    "url",
    [
        "http://bucket.test/results/part-0.csv",
        "ftp://bucket.test/results/part-0.csv",
        "https://user:pw@bucket.test/results/part-0.csv",
        "http://127.0.0.1:6379/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_plain_http_and_odd_urls_are_refused(client, transport, url):
    with pytest.raises(AmcDownloadRefused):
        list(client.download_results(url, max_bytes=100))
    assert transport.seen == []


def test_the_default_policy_allows_only_s3_hosts():
    policy = DownloadPolicy()
    policy.check_url("https://amc-results.s3.amazonaws.com/x.csv?X-Amz-Signature=a")
    policy.check_url("https://amc-results.s3.eu-west-1.amazonaws.com/x.csv")
    policy.check_url("https://s3.us-east-1.amazonaws.com/bucket/x.csv")
    for url in (
        "https://advertising-api.amazon.com/x",
        "https://s3.amazonaws.com.evil.test/x",
        "https://localhost/x",
    ):
        with pytest.raises(AmcDownloadRefused):
            policy.check_url(url)


def test_a_redirect_is_followed_only_to_an_allowed_host(make_client, transport):
    client = make_client(
        download_policy=DownloadPolicy(allowed_hosts=("bucket.test", "mirror.test"))
    )
    transport.add(
        "GET",
        FILE_PATH,
        response(307, headers={"Location": "https://mirror.test/copy.csv?sig=2"}),
    )
    transport.add("GET", "/copy.csv", response(200, raw=CSV_BODY))
    assert b"".join(client.download_results(f"https://bucket.test{FILE_PATH}", max_bytes=1000)) == (
        CSV_BODY
    )

    transport.add(
        "GET", "/evil.csv", response(302, headers={"Location": "http://127.0.0.1:8000/admin/"})
    )
    with pytest.raises(AmcDownloadRefused, match="not https"):
        list(client.download_results("https://bucket.test/evil.csv", max_bytes=1000))
    assert not [s for s in transport.seen if "127.0.0.1" in s.url]


def test_redirect_loops_end(client, transport):
    transport.add(
        "GET", FILE_PATH, response(302, headers={"Location": f"https://bucket.test{FILE_PATH}"})
    )
    with pytest.raises(AmcDownloadRefused, match="more than 3 redirects"):
        list(client.download_results(f"https://bucket.test{FILE_PATH}", max_bytes=1000))
    assert len(transport.requests_to("GET", FILE_PATH)) == 4


def test_a_storage_servers_error_body_never_reaches_the_message(client, transport):
    transport.add(
        "GET",
        FILE_PATH,
        response(403, raw=b"<Error><Message>internal-host db01.corp: secret</Message></Error>"),
    )
    with pytest.raises(AmcDownloadExpired) as caught:
        list(client.download_results(f"https://bucket.test{FILE_PATH}", max_bytes=1000))
    error = caught.value
    assert "secret" not in str(error) and "db01" not in str(error)
    assert error.body is None and error.details is None
    assert str(error) == "HTTP 403: the result URL was refused (HTTP 403)"


# -- real sockets ----------------------------------------------------------------------------


class _Files(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - the stdlib's name
        self.server.hits.append(self.path)
        if self.path.startswith("/slow"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x" * 10)
                self.wfile.flush()
                time.sleep(0.05)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(CSV_BODY)))
        self.end_headers()
        self.wfile.write(CSV_BODY)


@pytest.fixture
def file_server():
    with loopback_server(_Files) as server:
        yield server


def real_client(policy: DownloadPolicy) -> AmcClient:
    return AmcClient(
        base_url="https://advertising-api.amazon.com",
        credentials=AmcCredentials(client_id="c", client_secret="s", refresh_token="Atzr|r"),
        advertiser_id="ENTITY1",
        marketplace_id="ATVPDKIKX0DER",
        download_policy=policy,
        max_retries=0,
    )


def test_a_name_that_resolves_to_loopback_is_refused_on_the_socket():
    """The allowlist lets `localhost` through; the address it resolves to does not."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = real_client(DownloadPolicy(allowed_hosts=("localhost",)))
    try:
        with pytest.raises(AmcDownloadRefused, match="loopback, private or link-local"):
            list(client.download_results(f"https://localhost:{port}/x.csv", max_bytes=100))
        listener.settimeout(1)
        connection, _ = listener.accept()
        connection.settimeout(0.5)
        assert connection.recv(100) == b""  # closed before the TLS hello: nothing was sent
        connection.close()
    finally:
        client.close()
        listener.close()


def test_the_trusted_simulator_origin_is_fetched_over_http(file_server):
    origin = f"http://127.0.0.1:{file_server.server_port}"
    client = real_client(DownloadPolicy(trusted_origins=(origin,)))
    try:
        assert b"".join(client.download_results(f"{origin}/f.csv", max_bytes=1000)) == CSV_BODY
    finally:
        client.close()
    other_port = f"http://127.0.0.1:{file_server.server_port + 1}/f.csv"
    with pytest.raises(AmcDownloadRefused):
        DownloadPolicy(trusted_origins=(origin,)).check_url(other_port)


def test_a_download_has_a_total_deadline_besides_the_read_timeout(file_server):
    origin = f"http://127.0.0.1:{file_server.server_port}"
    client = real_client(DownloadPolicy(trusted_origins=(origin,), max_seconds=0.5))
    started = time.monotonic()
    try:
        with pytest.raises(AmcConnectionError, match="longer than 0.5 s"):
            list(client.download_results(f"{origin}/slow.csv", max_bytes=10_000, chunk_size=10))
    finally:
        client.close()
    assert time.monotonic() - started < 3


def test_proxies_from_the_environment_are_ignored(file_server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:1")
    origin = f"http://127.0.0.1:{file_server.server_port}"
    client = real_client(DownloadPolicy(trusted_origins=(origin,)))
    try:
        assert b"".join(client.download_results(f"{origin}/f.csv", max_bytes=1000)) == CSV_BODY
    finally:
        client.close()
    assert client.session.trust_env is False


def test_signed_urls_never_reach_any_log_even_urllib3_at_debug(file_server, caplog):
    caplog.set_level(logging.DEBUG)
    origin = f"http://127.0.0.1:{file_server.server_port}"
    client = real_client(DownloadPolicy(trusted_origins=(origin,)))
    signed = f"{origin}/f.csv?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=deadbeefcafe"
    try:
        assert b"".join(client.download_results(signed, max_bytes=1000)) == CSV_BODY
    finally:
        client.close()
    assert file_server.hits == ["/f.csv?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=deadbeefcafe"]
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    everything = caplog.text + "".join(repr(vars(r)) for r in caplog.records)
    assert "deadbeefcafe" not in everything
    assert "AKIAEXAMPLE" not in everything
