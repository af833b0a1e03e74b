"""An account's token and API URLs: allowlisted hosts only, on save and before every call."""

import pytest
from django.core.exceptions import ValidationError

from instances.services import upsert_account
from recomamp.errors import ValidationFailed
from reports import engine
from reports.amc import AmcEndpointRefused, client_for_instance
from reports.models import ExecutionStatus
from reports.services.executions import run_report
from tests.factories.instances import AmcAccountFactory, AmcInstanceFactory
from tests.fixtures.http import QuietHandler, loopback_server

pytestmark = pytest.mark.django_db

SECRET = "Atzr|must-never-leave-for-a-foreign-host"


class _Listener(QuietHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        self.server.hits.append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"access_token": "stolen", "expires_in": 3600}')

    do_GET = do_POST  # noqa: N815


@pytest.fixture
def listener():
    """A real HTTP server on loopback that records every request it gets (and its body)."""
    with loopback_server(_Listener) as server:
        yield server


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/auth/o2/token",
        "http://api.amazon.com/auth/o2/token",  # not https
        "https://api.amazon.com:8443/auth/o2/token",  # not the default port
        "https://api.amazon.com.evil.example/auth/o2/token",
        "https://api.amazon.com@evil.example/auth/o2/token",
        "http://127.0.0.1:8765/auth/o2/token",  # loopback, no simulator configured
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_an_account_pointing_anywhere_but_amazon_is_refused_on_save(settings, url):
    settings.AMC_SIMULATOR_URL = ""
    account = AmcAccountFactory.build(token_url=url, api_base_url=url)
    with pytest.raises(ValidationError) as caught:
        account.full_clean()
    assert set(caught.value.message_dict) == {"token_url", "api_base_url"}
    with pytest.raises(ValidationFailed) as refused:
        upsert_account(account_id="E1", marketplace_id="M1", name="x", token_url=url)
    assert [e.field for e in refused.value.errors] == ["token_url"]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.amazon.com/auth/o2/token",
        "https://api.amazon.co.uk/auth/o2/token",
        "https://advertising-api-eu.amazon.com",
        "https://ADVERTISING-API-FE.amazon.com/",
    ],
)
def test_amazon_hosts_of_each_region_are_accepted(settings, url):
    settings.AMC_SIMULATOR_URL = ""
    AmcAccountFactory.build(token_url=url, api_base_url=url).full_clean()


def test_the_configured_simulator_is_the_one_loopback_endpoint_accepted(settings):
    settings.AMC_SIMULATOR_URL = "http://127.0.0.1:8765"
    AmcAccountFactory.build(
        api_base_url="http://127.0.0.1:8765", token_url="http://127.0.0.1:8765/auth/o2/token"
    ).full_clean()
    with pytest.raises(ValidationError):
        AmcAccountFactory.build(api_base_url="http://127.0.0.1:8766").full_clean()


def test_a_row_that_skipped_validation_never_sends_its_secret(settings, listener):
    """Written straight to the database: the client refuses before any request leaves."""
    settings.AMC_SIMULATOR_URL = ""
    account = AmcAccountFactory(
        api_base_url=listener.url,
        token_url=f"{listener.url}/auth/o2/token",
        lwa_refresh_token=SECRET,
    )
    client = client_for_instance(AmcInstanceFactory(account=account))
    with pytest.raises(AmcEndpointRefused):
        client.session.request("POST", f"{listener.url}/auth/o2/token")
    with pytest.raises(Exception, match="not on the allowed AMC hosts"):
        client.list_executions("amcinst000001")
    assert listener.hits == []


def test_a_host_taken_off_the_allowlist_is_refused_at_the_next_call(settings, listener):
    settings.AMC_SIMULATOR_URL = listener.url
    account = AmcAccountFactory(
        api_base_url=listener.url, token_url=f"{listener.url}/auth/o2/token"
    )
    account.full_clean()  # allowed while the listener is the configured simulator
    client = client_for_instance(AmcInstanceFactory(account=account))
    settings.AMC_SIMULATOR_URL = ""
    with pytest.raises(AmcEndpointRefused):
        client.session.request("POST", account.token_url)
    assert listener.hits == []


def test_a_run_on_a_refused_endpoint_fails_with_the_reason(
    settings, listener, analyst, report, engine_tasks
):
    settings.AMC_SIMULATOR_URL = ""
    account = report.instance.account
    account.api_base_url = listener.url
    account.token_url = f"{listener.url}/auth/o2/token"
    account.lwa_refresh_token = SECRET
    account.save()
    execution = run_report(report=report, user=analyst)

    engine.start(execution.pk)

    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.FAILED
    assert "not on the allowed AMC hosts" in execution.error_message
    assert listener.hits == []
