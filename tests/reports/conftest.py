import pytest
from rest_framework.test import APIClient

from instances.models import AccessRole
from reports.services.templates import upsert_catalogue
from tests.factories.instances import AmcInstanceFactory, InstanceAccessFactory, UserFactory
from tests.factories.reports import ReportDefinitionFactory


@pytest.fixture
def analyst(db):
    return UserFactory()


@pytest.fixture
def instance(analyst):
    return InstanceAccessFactory(user=analyst, role=AccessRole.ANALYST).instance


@pytest.fixture
def foreign_instance(db):
    """An instance of another client that the analyst has no access to."""
    return AmcInstanceFactory()


@pytest.fixture
def api(analyst):
    client = APIClient()
    client.force_authenticate(analyst)
    return client


@pytest.fixture
def catalogue(db):
    return {template.template_id: template for template in upsert_catalogue()}


@pytest.fixture
def report(instance, analyst, catalogue):
    return ReportDefinitionFactory(
        instance=instance,
        owner=analyst,
        template=catalogue["campaign-performance-daily"],
        parameters={"min_impressions": 10},
    )
