"""Bad input to every endpoint gets a 4xx naming the field, never a 500, and the API does what
its schema says.

Schemathesis generates requests from our own OpenAPI schema (valid and invalid) and calls the
WSGI app in-process; every answer must be a documented status code with a body that matches the
documented schema. A second test sends malformed bodies to every write endpoint of real objects
the user can see.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from recomamp.wsgi import application
from tests.factories.backfills import BackfillFactory, BackfillSegmentFactory
from tests.factories.instances import InstanceAccessFactory, UserFactory
from tests.factories.reports import ReportDefinitionFactory, ReportExecutionFactory
from tests.factories.schedules import ReportScheduleFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@schemathesis.check
def errors_have_the_documented_shape(ctx, response, case):
    assert response.status_code < 500, f"server error {response.status_code}"
    if 400 <= response.status_code < 500 and response.headers.get("Content-Type", [""])[
        0
    ].startswith("application/json"):
        body = response.json()
        assert isinstance(body.get("errors"), list) and body["errors"], body
        for error in body["errors"]:
            assert set(error) == {"field", "code", "message"}, error
            assert error["field"] and error["message"], error


@pytest.fixture
def token(db):
    # Calls go through the real WSGI app, which closes the connection after each request;
    # the test database lives in this test's transaction, so keep it open (as Django's
    # test client does).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    user = UserFactory()
    report = ReportDefinitionFactory(instance=InstanceAccessFactory(user=user).instance)
    # One of each kind the user can list, with the empty (null) fields a new object has.
    ReportExecutionFactory(report=report)
    ReportExecutionFactory(
        report=report, status="completed", output_location="results/missing.csv", row_count=0
    )
    ReportScheduleFactory(report=report)
    BackfillSegmentFactory(backfill=BackfillFactory(report=report, user=None))
    yield Token.objects.create(user=user).key
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    # A few random cases per operation on top of schemathesis' deterministic coverage cases
    # (boundaries, missing and wrong-typed fields): about a minute for the whole API.
    max_examples=5,
    derandomize=True,  # the same requests on every run: CI stays reproducible
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_endpoint_answers_as_its_schema_says_and_never_with_a_server_error(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            response_schema_conformance,
            errors_have_the_documented_shape,
        ],
    )


BAD_BODIES = [
    b"not json",
    b"[1, 2, 3]",
    b'"a string"',
    b'{"parameters": [1, 2]}',
    b'{"parameters": {"min_impressions": {"nested": true}}}',
    b'{"time_window_start": "yesterday-ish", "time_window_end": 5}',
    b'{"name": null, "lookback_days": "many"}',
]


@pytest.mark.django_db
@pytest.mark.parametrize("body", BAD_BODIES)
def test_write_endpoints_of_real_objects_refuse_malformed_bodies(body):
    user = UserFactory()
    report = ReportDefinitionFactory(instance=InstanceAccessFactory(user=user).instance)
    execution = ReportExecutionFactory(report=report)
    client = APIClient()
    client.force_authenticate(user)
    for method, url in [
        ("post", "/api/reports/"),
        ("patch", f"/api/reports/{report.report_id}/"),
        ("post", f"/api/reports/{report.report_id}/run/"),
        ("post", f"/api/reports/{report.report_id}/preview/"),
        ("post", f"/api/executions/{execution.execution_id}/cancel/"),
    ]:
        response = getattr(client, method)(url, body, content_type="application/json")
        assert 400 <= response.status_code < 500 or response.status_code in (200, 202), (
            url,
            body,
            response.status_code,
        )
        if response.status_code >= 400:
            assert all(e["field"] for e in response.json()["errors"])


@pytest.mark.django_db
def test_nul_characters_are_bad_input_not_a_server_error():
    user = UserFactory()
    instance = InstanceAccessFactory(user=user).instance
    client = APIClient()
    client.force_authenticate(user)
    for method, url, body in [
        ("post", "/api/reports/", {"name": "x", "template": "a\x00b", "instance": instance.id}),
        ("get", "/api/executions/?report=rpt_\x00", None),
        ("get", "/api/reports/rpt_ab%00cd12/", None),
    ]:
        response = getattr(client, method)(url, body, format="json")
        assert 400 <= response.status_code < 500, (url, response.status_code)
