import datetime as dt

import factory

from backfills.models import BackfillSegment, ReportDataCollection
from tests.factories.reports import ReportDefinitionFactory


class ReportDataCollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportDataCollection

    report = factory.SubFactory(ReportDefinitionFactory)
    lookback_config = factory.LazyFunction(lambda: {"type": "relative", "value": 7, "unit": "days"})
    start_date = dt.date(2026, 10, 1)
    end_date = dt.date(2026, 10, 7)


class BackfillSegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackfillSegment

    collection = factory.SubFactory(ReportDataCollectionFactory)
    sequence = factory.Sequence(lambda n: n)
    window_start = factory.SelfAttribute("collection.start_date")
    window_end = factory.SelfAttribute("collection.end_date")
