import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def seed(capsys):
    call_command("seed_demo")
    output = capsys.readouterr().out
    username, password = re.search(r"Login: (\S+) / (\S+)", output).groups()
    return username, password


def test_demo_user_sees_the_demo_templates_and_instances_in_the_admin(capsys):
    username, password = seed(capsys)
    client = Client()
    assert client.login(username=username, password=password)

    templates = client.get("/admin/reports/querytemplate/")
    assert templates.status_code == 200
    for name in ["Campaign performance by day", "Path to conversion", "ASIN conversions"]:
        assert name in templates.text
    instances = client.get("/admin/instances/amcinstance/")
    assert instances.status_code == 200
    for instance_id in ["amcrecodemo01", "amcrecodemo02", "amcrecodemo03"]:
        assert instance_id in instances.text


def test_seed_demo_is_idempotent_and_has_at_least_8_templates_with_typed_parameters(capsys):
    seed(capsys)
    seed(capsys)
    from instances.models import AmcAccount, AmcInstance
    from reports.models import QueryTemplate
    from reports.parameters import check_template

    assert AmcAccount.objects.count() == 2
    assert AmcInstance.objects.count() == 3
    from reports.models import ReportDefinition

    assert ReportDefinition.objects.filter(owner__username="demo").count() == 3
    templates = QueryTemplate.objects.all()
    assert templates.count() >= 8
    for template in templates:
        check = check_template(template.sql_query, template.parameter_definitions)
        assert not check.undefined and not check.unused and not check.errors, template.name
        assert template.report_config["widgets"], template.name
