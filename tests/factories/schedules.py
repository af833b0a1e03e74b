import factory

from schedules.models import ReportSchedule, ScheduleType
from tests.factories.reports import ReportDefinitionFactory


class ReportScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportSchedule

    report = factory.SubFactory(ReportDefinitionFactory)
    schedule_type = ScheduleType.DAILY
    cron_expression = "0 6 * * *"
    timezone = "UTC"
