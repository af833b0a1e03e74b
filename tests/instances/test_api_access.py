"""A user sees only the instances they have access to; every other one is a 404."""

import uuid

import pytest
from rest_framework.test import APIClient

from tests.factories.instances import AmcInstanceFactory, InstanceAccessFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst():
    return UserFactory()


@pytest.fixture
def api(analyst):
    client = APIClient()
    client.force_authenticate(analyst)
    return client


def test_lists_only_instances_the_user_has_access_to(api, analyst):
    mine = InstanceAccessFactory(user=analyst).instance
    AmcInstanceFactory()  # someone else's client

    response = api.get("/api/instances/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(mine.id)]


def test_an_instance_without_access_is_not_found(api):
    other = AmcInstanceFactory()
    response = api.get(f"/api/instances/{other.id}/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_a_malformed_instance_id_is_not_found_not_an_error(api):
    assert api.get("/api/instances/not-a-uuid/").status_code == 404
    assert api.get(f"/api/instances/{uuid.uuid4()}/").status_code == 404


def test_anonymous_users_are_refused():
    response = APIClient().get("/api/instances/")
    assert response.status_code in (401, 403)
    assert response.json()["errors"][0]["field"] == "non_field_errors"


def test_token_authentication_works(analyst):
    analyst.set_password("s3cret-pass-word")
    analyst.save()
    client = APIClient()
    token = client.post(
        "/api/auth/token/", {"username": analyst.username, "password": "s3cret-pass-word"}
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/instances/").status_code == 200


def test_bad_login_names_the_field():
    response = APIClient().post("/api/auth/token/", {"username": "x"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "password"


def test_templates_are_a_shared_catalogue(api):
    from reports.services.templates import upsert_catalogue

    upsert_catalogue()
    response = api.get("/api/templates/?page_size=100")
    assert response.status_code == 200
    assert response.json()["count"] >= 8
    detail = api.get("/api/templates/asin-conversions/").json()
    assert detail["parameter_definitions"][0]["type"] == "asin_list"
    assert api.get("/api/templates/no-such-template/").status_code == 404
