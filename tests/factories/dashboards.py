import factory

from dashboards.models import (
    Dashboard,
    DashboardFavorite,
    DashboardInsight,
    DashboardView,
    ReportConfiguration,
    ReportExport,
)
from tests.factories.instances import AmcInstanceFactory, UserFactory


class DashboardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dashboard

    name = factory.Sequence(lambda n: f"Dashboard {n}")
    instance = factory.SubFactory(AmcInstanceFactory)
    owner = factory.SubFactory(UserFactory)


class ReportConfigurationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportConfiguration

    dashboard = factory.SubFactory(DashboardFactory)


class DashboardViewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DashboardView

    report_configuration = factory.SubFactory(ReportConfigurationFactory)
    view_name = factory.Sequence(lambda n: f"View {n}")
    view_type = "chart"


class DashboardInsightFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DashboardInsight

    dashboard_view = factory.SubFactory(DashboardViewFactory)
    insight_type = "trend"
    insight_text = "Sales grew 12% week over week."
    confidence_score = "0.80"


class DashboardFavoriteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DashboardFavorite

    dashboard = factory.SubFactory(DashboardFactory)
    user = factory.SubFactory(UserFactory)


class ReportExportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportExport

    report_configuration = factory.SubFactory(ReportConfigurationFactory)
    user = factory.SubFactory(UserFactory)
    export_format = "csv"
