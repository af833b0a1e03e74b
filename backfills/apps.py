from django.apps import AppConfig


class BackfillsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "backfills"

    def ready(self) -> None:
        from reports.models import ReportExecution
        from reports.signals import execution_finished, execution_left_amc

        execution_finished.connect(
            _on_execution_finished, sender=ReportExecution, dispatch_uid="backfills.segment"
        )
        execution_left_amc.connect(
            _on_execution_left_amc, sender=ReportExecution, dispatch_uid="backfills.next"
        )


def _on_execution_finished(sender, execution, **kwargs) -> None:
    """A backfill segment's execution ended: record it on the segment."""
    if execution.collection_id is None:
        return
    from backfills.services import segment_finished

    segment_finished(execution_pk=execution.pk, execution=execution)


def _on_execution_left_amc(sender, backfill_pk=None, **kwargs) -> None:
    """A segment's execution left AMC (downloading now): the next segment starts at once."""
    if backfill_pk is None:
        return
    from backfills.services import release_next

    release_next(backfill_pk=backfill_pk, inline=True)
