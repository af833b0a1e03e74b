import datetime as dt

import factory

from backfills.models import Backfill, BackfillSegment
from tests.factories.reports import ReportDefinitionFactory


class BackfillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Backfill

    report = factory.SubFactory(ReportDefinitionFactory)
    lookback_config = factory.LazyFunction(lambda: {"type": "relative", "value": 7, "unit": "days"})
    start_date = dt.date(2026, 10, 1)
    end_date = dt.date(2026, 10, 7)


class BackfillSegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackfillSegment

    backfill = factory.SubFactory(BackfillFactory)
    sequence = factory.Sequence(lambda n: n)
    window_start = factory.SelfAttribute("backfill.start_date")
    window_end = factory.SelfAttribute("backfill.end_date")
