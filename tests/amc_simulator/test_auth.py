"""Login with Amazon and the header checks on every AMC call, over real HTTP."""

import uuid

import pytest
import requests

from .helpers import assert_amc_error, executions_url


def token_form(server, **overrides):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "Atzr|test-refresh",
        "client_id": server.client_id,
        "client_secret": server.client_secret,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def test_token_endpoint_exchanges_a_refresh_token_for_a_bearer_token(amc_sim):
    response = requests.post(f"{amc_sim.url}/auth/o2/token", data=token_form(amc_sim), timeout=10)
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer"
    assert token["access_token"].startswith("Atza|")
    assert token["refresh_token"] == "Atzr|test-refresh"
    assert token["expires_in"] == 3600


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
        ({"grant_type": None}, 400, "invalid_request"),
        ({"refresh_token": None}, 400, "invalid_request"),
        ({"refresh_token": "not-an-lwa-token"}, 400, "invalid_grant"),
        ({"refresh_token": "Atzr|"}, 400, "invalid_grant"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client"),
    ],
)
def test_token_endpoint_answers_lwa_errors(amc_sim, overrides, status, error):
    response = requests.post(
        f"{amc_sim.url}/auth/o2/token", data=token_form(amc_sim, **overrides), timeout=10
    )
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_missing_bearer_token_is_401(amc_sim, amc_headers):
    headers = amc_headers()
    del headers["Authorization"]
    assert_amc_error(requests.get(executions_url(amc_sim), headers=headers, timeout=10), 401)


def test_unknown_bearer_token_is_401(amc_sim, amc_headers):
    headers = {**amc_headers(), "Authorization": "Bearer Atza|made-up"}
    assert_amc_error(requests.get(executions_url(amc_sim), headers=headers, timeout=10), 401)


def test_expired_tokens_get_401_and_a_refreshed_token_works(amc_sim, amc_headers):
    headers = amc_headers()
    assert requests.get(executions_url(amc_sim), headers=headers, timeout=10).status_code == 200
    response = requests.post(f"{amc_sim.url}/_simulator/tokens/expire", timeout=10)
    assert response.status_code == 200 and response.json()["expired"] >= 1
    assert_amc_error(requests.get(executions_url(amc_sim), headers=headers, timeout=10), 401)

    fresh = requests.post(f"{amc_sim.url}/auth/o2/token", data=token_form(amc_sim), timeout=10)
    headers["Authorization"] = f"Bearer {fresh.json()['access_token']}"
    assert requests.get(executions_url(amc_sim), headers=headers, timeout=10).status_code == 200


def test_token_past_its_lifetime_is_refused(amc_sim, amc_headers):
    amc_sim.set_config(access_token_ttl_seconds=0)
    headers = amc_headers()
    assert_amc_error(requests.get(executions_url(amc_sim), headers=headers, timeout=10), 401)


def test_wrong_client_id_header_is_401(amc_sim, amc_headers):
    headers = {**amc_headers(), "Amazon-Advertising-API-ClientId": "amzn1.someone-else"}
    assert_amc_error(requests.get(executions_url(amc_sim), headers=headers, timeout=10), 401)


def test_wrong_advertiser_is_403(amc_sim, amc_headers):
    # ENTITYDEMO2B owns amcrecodemo03, not amcrecodemo01.
    headers = {**amc_headers(), "Amazon-Advertising-API-AdvertiserId": "ENTITYDEMO2B"}
    assert_amc_error(
        requests.get(executions_url(amc_sim), headers=headers, timeout=10), 403, "FORBIDDEN"
    )


def test_missing_advertiser_is_403(amc_sim, amc_headers):
    headers = amc_headers()
    del headers["Amazon-Advertising-API-AdvertiserId"]
    assert_amc_error(requests.get(executions_url(amc_sim), headers=headers, timeout=10), 403)


def test_missing_marketplace_is_400(amc_sim, amc_headers):
    headers = amc_headers()
    del headers["Amazon-Advertising-API-MarketplaceId"]
    assert_amc_error(requests.get(executions_url(amc_sim), headers=headers, timeout=10), 400)


def test_our_uuid_instead_of_amcs_instance_id_is_404(amc_sim, amc_headers):
    url = executions_url(amc_sim, str(uuid.uuid4()))
    assert_amc_error(requests.get(url, headers=amc_headers(), timeout=10), 404, "NOT_FOUND")


def test_unknown_route_is_404_and_wrong_method_405(amc_sim, amc_headers):
    assert_amc_error(requests.get(f"{amc_sim.url}/amc/nothing-here", timeout=10), 404)
    response = requests.patch(executions_url(amc_sim), headers=amc_headers(), timeout=10)
    assert_amc_error(response, 405)
