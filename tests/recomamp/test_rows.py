"""Written-out reads and writes (recomamp.rows) give what the ORM gives."""

import pytest
from django.db import connection

from recomamp import rows
from reports.models import AuditStep, ReportBuilderAudit

pytestmark = pytest.mark.django_db


def values_of(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_an_inserted_row_reads_back_as_the_orm_would_have_saved_it(report, analyst):
    audit = ReportBuilderAudit(
        report=report,
        report_ref=report.report_id,
        user=analyst,
        step=AuditStep.RUN,
        action="run requested",
        configuration={"parameters": {"min_impressions": 10}, "note": "ünïcode"},
    )
    rows.insert(audit)

    stored = ReportBuilderAudit.objects.get(pk=audit.pk)
    assert values_of(stored) == values_of(audit)
    assert stored.created_at is not None and stored.configuration_before is None
    assert not audit._state.adding


def test_a_row_read_back_is_the_instance_the_orm_reads(report):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.select_columns(type(report), 'r')}, 42"
            f" FROM {report._meta.db_table} r WHERE r.id = %s",
            [report.pk],
        )
        values = iter(cursor.fetchone())
    read = rows.from_row(type(report), values)

    assert values_of(read) == values_of(type(report).objects.get(pk=report.pk))
    assert read.parameters == {"min_impressions": 10}  # JSON read as JSON
    assert next(values) == 42  # the row's further values are left for the caller


def test_statements_sent_together_all_run_in_order(report):
    table = report._meta.db_table
    rows.execute_together(
        [
            (f"UPDATE {table} SET execution_count = %s WHERE id = %s", [5, report.pk]),
            (
                f"UPDATE {table} SET execution_count = execution_count * %s WHERE id = %s",
                [3, report.pk],
            ),
        ]
    )
    report.refresh_from_db()
    assert report.execution_count == 15
