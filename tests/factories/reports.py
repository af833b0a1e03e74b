import factory

from reports.models import QueryTemplate, ReportDefinition, ReportExecution, TriggeredBy
from tests.factories.instances import AmcInstanceFactory, UserFactory


class QueryTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QueryTemplate

    template_id = factory.Sequence(lambda n: f"template-{n}")
    name = factory.Sequence(lambda n: f"Template {n}")
    category = "Performance"
    sql_query = (
        "SELECT campaign, SUM(impressions) AS impressions FROM sponsored_ads_traffic "
        "WHERE impressions >= {{min_impressions}} GROUP BY campaign"
    )
    parameter_definitions = factory.LazyFunction(
        lambda: [{"name": "min_impressions", "type": "integer", "default": 0, "min": 0}]
    )


class ReportDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportDefinition

    name = factory.Sequence(lambda n: f"Report {n}")
    template = factory.SubFactory(QueryTemplateFactory)
    instance = factory.SubFactory(AmcInstanceFactory)
    owner = factory.SubFactory(UserFactory)


class ReportExecutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportExecution

    report = factory.SubFactory(ReportDefinitionFactory)
    template = factory.SelfAttribute("report.template")
    instance = factory.SelfAttribute("report.instance")
    user = factory.SelfAttribute("report.owner")
    triggered_by = TriggeredBy.MANUAL
