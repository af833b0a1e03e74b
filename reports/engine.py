"""The execution engine: one state machine from pending to completed, failed or cancelled.

    pending ──submit──▶ running ──download──▶ completed
       │                  │
       └──────────────────┴──▶ failed | cancelled

The allowed transitions are listed once (TRANSITIONS); every transition is a conditional
UPDATE ... WHERE status IN (...), so two workers can never both move an execution.

An execution holds one slot of its instance's concurrency cap from the AMC submit to the end
of the download. Slots are rows (`ExecutionSlot`) claimed with SELECT ... FOR UPDATE SKIP
LOCKED, so the cap holds across every worker and process; the sweeper gives back the slots of
executions that ended and resumes executions whose worker died (`lease_expires_at` lapsed),
from their stored AMC id, never submitting twice.

The functions here take primary keys and re-read state, so a task that runs twice does no
harm. Celery tasks (reports.tasks) are one-line wrappers around them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import tempfile
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from instances.models import AmcInstance
from recomamp.amc import (
    AmcConnectionError,
    AmcDownloadExpired,
    AmcError,
    AmcExecution,
    AmcQueryError,
    AmcServerError,
    AmcThrottled,
)
from recomamp.amc import ExecutionStatus as AmcStatus
from reports.amc import client_for_instance
from reports.models import (
    TERMINAL_STATUSES,
    ExecutionResultRow,
    ExecutionSlot,
    ExecutionStatus,
    ReportExecution,
)
from reports.signals import execution_finished

logger = logging.getLogger(__name__)

PENDING = ExecutionStatus.PENDING
RUNNING = ExecutionStatus.RUNNING
COMPLETED = ExecutionStatus.COMPLETED
FAILED = ExecutionStatus.FAILED
CANCELLED = ExecutionStatus.CANCELLED

TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({RUNNING, FAILED, CANCELLED}),
    RUNNING: frozenset({COMPLETED, FAILED, CANCELLED}),
    COMPLETED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}
ACTIVE_STATUSES = (PENDING, RUNNING)
ROW_BATCH = 5000


def _lease() -> timedelta:
    return timedelta(seconds=settings.RECOMAMP_LEASE_SECONDS)


# -- transitions -----------------------------------------------------------------------------


def transition(execution_pk, *, to: str, **fields) -> bool:
    """Move an execution to `to` if its current state allows it; True when this call did."""
    sources = [state for state, targets in TRANSITIONS.items() if to in targets]
    now = timezone.now()
    if to in TERMINAL_STATUSES:
        fields.setdefault("completed_at", now)
        fields.setdefault("next_poll_at", None)
    moved = ReportExecution.objects.filter(pk=execution_pk, status__in=sources).update(
        status=to, updated_at=now, **fields
    )
    return moved == 1


def _finish(execution_pk, *, to: str, **fields) -> bool:
    """A terminal transition, then everything that follows it: slot back, listeners told."""
    if not transition(execution_pk, to=to, **fields):
        return False
    execution = ReportExecution.objects.select_related("instance").get(pk=execution_pk)
    at_amc = bool(execution.amc_execution_id or execution.submit_started_at)
    if not (to == CANCELLED and at_amc):
        # A cancelled execution that AMC may hold keeps its slot until AMC has been told
        # (cancel_at_amc), so the cap is never exceeded at AMC.
        release_slot(execution)
    execution_finished.send(sender=ReportExecution, execution=execution)
    logger.info("execution %s %s", execution.execution_id, to)
    return True


# -- the concurrency cap ---------------------------------------------------------------------


def _ensure_slots(instance: AmcInstance) -> None:
    existing = set(
        ExecutionSlot.objects.filter(instance=instance).values_list("slot_number", flat=True)
    )
    missing = [n for n in range(instance.concurrency_cap) if n not in existing]
    if missing:
        ExecutionSlot.objects.bulk_create(
            [ExecutionSlot(instance=instance, slot_number=n) for n in missing],
            ignore_conflicts=True,
        )


def acquire_slot(execution: ReportExecution) -> bool:
    """Take one of the instance's slots for this execution (idempotent); False when all busy."""
    instance = execution.instance
    _ensure_slots(instance)
    with transaction.atomic():
        if ExecutionSlot.objects.filter(execution=execution).exists():
            return True
        slot = (
            ExecutionSlot.objects.select_for_update(skip_locked=True)
            .filter(
                instance=instance,
                slot_number__lt=instance.concurrency_cap,
                execution__isnull=True,
            )
            .order_by("slot_number")
            .first()
        )
        if slot is None:
            return False
        slot.execution = execution
        slot.lease_expires_at = timezone.now() + _lease()
        try:
            with transaction.atomic():
                slot.save(update_fields=["execution", "lease_expires_at"])
        except IntegrityError:
            return True  # a twin task of this execution took another slot first
        return True


def release_slot(execution: ReportExecution) -> None:
    released = ExecutionSlot.objects.filter(execution=execution).update(
        execution=None, lease_expires_at=None
    )
    if released:
        dispatch_waiting(instance_pk=execution.instance_id)


def slots_in_use(instance: AmcInstance) -> int:
    return ExecutionSlot.objects.filter(instance=instance, execution__isnull=False).count()


def waiting_executions(instance_pk) -> Iterable[ReportExecution]:
    """Pending executions of an instance that were never submitted, oldest first."""
    return ReportExecution.objects.filter(
        instance_id=instance_pk,
        status=PENDING,
        submit_started_at__isnull=True,
        amc_execution_id="",
        slot__isnull=True,
    ).filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=timezone.now()))


def dispatch_waiting(*, instance_pk) -> int:
    """Hand as many waiting executions to workers as the instance has free slots."""
    instance = AmcInstance.objects.get(pk=instance_pk)
    free = instance.concurrency_cap - slots_in_use(instance)
    if free <= 0:
        return 0
    with transaction.atomic():
        pks = list(
            waiting_executions(instance_pk)
            .order_by("created_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:free]
        )
        # Handed out: not handed out again until its start task gives it back (no free
        # slot) or, if the task's message was lost, until a lease has passed.
        ReportExecution.objects.filter(pk__in=pks).update(next_poll_at=timezone.now() + _lease())
    for pk in pks:
        _enqueue("start_execution", pk)
    return len(pks)


def start_if_free(execution: ReportExecution) -> bool:
    """A new execution: hand it to a worker at once if its instance has a free slot.

    Otherwise it waits its turn; dispatch_waiting hands waiting executions out, oldest first,
    whenever a slot frees up.
    """
    instance = execution.instance
    if slots_in_use(instance) >= instance.concurrency_cap:
        return False
    ReportExecution.objects.filter(pk=execution.pk).update(next_poll_at=timezone.now() + _lease())
    _enqueue("start_execution", execution.pk)
    return True


# -- steps -----------------------------------------------------------------------------------


def start(execution_pk) -> None:
    """Submit a pending execution once it holds a slot; resume one that was already sent."""
    execution = _load(execution_pk)
    if execution is None or execution.is_terminal:
        return
    if execution.amc_execution_id:
        poll(execution_pk)
        return
    if execution.cancel_requested:
        _finish(execution_pk, to=CANCELLED)
        return
    if execution.submit_started_at is not None:
        _reconcile_submit(execution)
        return
    if not acquire_slot(execution):
        # Back to waiting: dispatch_waiting hands it out again when a slot frees up.
        ReportExecution.objects.filter(
            pk=execution_pk, status=PENDING, submit_started_at__isnull=True
        ).update(next_poll_at=None)
        return
    claimed = ReportExecution.objects.filter(
        pk=execution_pk, status=PENDING, submit_started_at__isnull=True, amc_execution_id=""
    ).update(submit_started_at=timezone.now(), lease_expires_at=timezone.now() + _lease())
    if not claimed:
        return  # another worker is submitting it
    _submit(execution)


def _submit(execution: ReportExecution) -> None:
    client = client_for_instance(execution.instance)
    try:
        amc = client.create_execution(
            execution.instance.instance_id,
            sql=execution.rendered_sql,
            window_start=execution.time_window_start,
            window_end=execution.time_window_end,
            time_zone=execution.report.timezone,
        )
    except AmcQueryError as exc:
        _fail(execution, exc, prefix="AMC rejected the query")
        return
    except AmcThrottled as exc:
        # AMC created nothing: give the slot back and wait as long as AMC asks.
        _retry_later(execution, exc, delay=exc.retry_after, unsubmitted=True)
        return
    except (AmcServerError, AmcConnectionError) as exc:
        if isinstance(exc, AmcConnectionError) and not exc.request_sent:
            _retry_later(execution, exc, unsubmitted=True)
        else:
            # AMC may have created it: look for it before submitting again.
            _retry_later(execution, exc)
        return
    except AmcError as exc:
        _fail(execution, exc, prefix="AMC refused the execution")
        return
    _record_submitted(execution, amc)


def _record_submitted(execution: ReportExecution, amc: AmcExecution) -> None:
    now = timezone.now()
    delay = settings.RECOMAMP_POLL_MIN_SECONDS
    moved = transition(
        execution.pk,
        to=RUNNING,
        amc_execution_id=amc.execution_id,
        amc_status=amc.status,
        started_at=now,
        next_poll_at=now + timedelta(seconds=delay),
        lease_expires_at=now + timedelta(seconds=delay) + _lease(),
    )
    if not moved:
        current = ReportExecution.objects.get(pk=execution.pk)
        if current.amc_execution_id == amc.execution_id:
            return  # a twin task recorded the same AMC execution first
        if current.status == CANCELLED and not current.amc_execution_id:
            # Cancelled while we were submitting: keep the id and stop it at AMC too.
            ReportExecution.objects.filter(pk=execution.pk).update(
                amc_execution_id=amc.execution_id
            )
            _enqueue("cancel_at_amc", execution.pk)
        else:
            # AMC runs another execution for this one already: stop this extra one.
            logger.warning(
                "execution %s: cancelling extra AMC execution %s",
                execution.execution_id,
                amc.execution_id,
            )
            with contextlib.suppress(AmcError):
                client_for_instance(execution.instance).cancel_execution(
                    execution.instance.instance_id, amc.execution_id
                )
        return
    _enqueue("poll_execution", execution.pk, countdown=delay)


def _reconcile_submit(execution: ReportExecution) -> None:
    """A submit whose outcome is unknown (worker died, 5xx): adopt AMC's execution or resend."""
    now = timezone.now()
    reconciling = (
        ReportExecution.objects.filter(pk=execution.pk, status=PENDING, amc_execution_id="")
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(lease_expires_at=now + _lease())
    )
    if not reconciling:
        return  # the submitting worker, or another reconciler, is still at it
    client = client_for_instance(execution.instance)
    try:
        found = client.find_matching_executions(
            execution.instance.instance_id,
            sql=execution.rendered_sql,
            window_start=execution.time_window_start,
            window_end=execution.time_window_end,
            time_zone=execution.report.timezone,
            submitted_after=execution.submit_started_at - timedelta(minutes=5),
        )
    except AmcError as exc:
        _retry_later(execution, exc)
        return
    if found:
        logger.info("execution %s adopts AMC %s", execution.execution_id, found[0].execution_id)
        _record_submitted(execution, found[0])
        return
    # AMC never saw it: submit afresh (the slot, if still ours, is reused).
    ReportExecution.objects.filter(pk=execution.pk, status=PENDING, amc_execution_id="").update(
        submit_started_at=None, lease_expires_at=None
    )
    _enqueue("start_execution", execution.pk)


def poll(execution_pk) -> None:
    """Ask AMC how the execution is doing; download when it succeeded."""
    execution = _load(execution_pk)
    if execution is None or execution.status != RUNNING:
        return
    if execution.amc_status == AmcStatus.SUCCEEDED:
        download(execution_pk)
        return
    client = client_for_instance(execution.instance)
    try:
        amc = client.get_execution(execution.instance.instance_id, execution.amc_execution_id)
    except AmcError as exc:
        if exc.retryable:
            _retry_later(execution, exc)
        else:
            _fail(execution, exc, prefix="AMC status check failed")
        return
    if amc.status == AmcStatus.SUCCEEDED:
        download(execution_pk)
    elif amc.status == AmcStatus.FAILED or amc.status == "REJECTED":
        _finish(
            execution_pk,
            to=FAILED,
            amc_status=amc.status,
            error_message=amc.failure_text or "AMC reported the execution failed.",
            error_details=_amc_details(amc),
        )
    elif amc.status == AmcStatus.CANCELLED:
        _finish(execution_pk, to=CANCELLED, amc_status=amc.status)
    else:
        delay = _poll_delay(execution)
        now = timezone.now()
        ReportExecution.objects.filter(pk=execution_pk, status=RUNNING).update(
            amc_status=amc.status,
            attempts=0,
            next_poll_at=now + timedelta(seconds=delay),
            lease_expires_at=now + timedelta(seconds=delay) + _lease(),
        )
        ExecutionSlot.objects.filter(execution_id=execution_pk).update(
            lease_expires_at=now + timedelta(seconds=delay) + _lease()
        )
        _enqueue("poll_execution", execution_pk, countdown=delay)


def _poll_delay(execution: ReportExecution) -> float:
    """Poll often at first, then less: a tenth of the time it has run, within bounds."""
    elapsed = (timezone.now() - (execution.started_at or timezone.now())).total_seconds()
    return min(
        max(settings.RECOMAMP_POLL_MIN_SECONDS, elapsed / 10), settings.RECOMAMP_POLL_MAX_SECONDS
    )


def download(execution_pk) -> None:
    """Store the CSV, load its rows and complete the execution; once, even if asked twice."""
    now = timezone.now()
    claimed = (
        ReportExecution.objects.filter(pk=execution_pk, status=RUNNING)
        .filter(
            ~Q(amc_status=AmcStatus.SUCCEEDED)
            | Q(lease_expires_at__isnull=True)
            | Q(lease_expires_at__lt=now)
        )
        .update(amc_status=AmcStatus.SUCCEEDED, lease_expires_at=now + _lease())
    )
    if not claimed:
        return  # another worker is downloading it
    execution = _load(execution_pk)
    client = client_for_instance(execution.instance)
    name = f"results/{execution.instance.instance_id}/{execution.execution_id}.csv"
    try:
        with tempfile.TemporaryFile() as spool:
            urls = client.get_download_urls(
                execution.instance.instance_id, execution.amc_execution_id
            )
            size = _download_all(client, urls, spool)
            spool.seek(0)
            if default_storage.exists(name):
                default_storage.delete(name)
            stored = default_storage.save(name, File(spool, name=name))
            spool.seek(0)
            _load_rows_and_complete(execution, spool, stored=stored, size=size)
    except AmcDownloadExpired as exc:
        _retry_later(execution, exc, delay=0)  # fresh URLs on the next try
    except (UnicodeDecodeError, csv.Error) as exc:
        _finish(execution_pk, to=FAILED, error_message=f"The result is not a readable CSV: {exc}")
    except AmcError as exc:
        if exc.retryable:
            _retry_later(execution, exc)
        else:
            _fail(execution, exc, prefix="Downloading the result failed")


def _download_all(client, urls: list[str], spool) -> int:
    """Concatenate the result files into one CSV (one header line)."""
    size = 0
    for index, url in enumerate(urls):
        with tempfile.TemporaryFile() as part:
            size += client.download_to(url, part, max_bytes=settings.AMC_DOWNLOAD_MAX_BYTES)
            part.seek(0)
            if index > 0:
                part.readline()  # the header again
            for chunk in iter(lambda p=part: p.read(1 << 16), b""):
                spool.write(chunk)
    return size


def _load_rows_and_complete(execution: ReportExecution, spool, *, stored: str, size: int) -> None:
    reader = csv.DictReader(io.TextIOWrapper(spool, encoding="utf-8", newline=""))
    limit = settings.RECOMAMP_MAX_LOADED_ROWS
    with transaction.atomic():
        ExecutionResultRow.objects.filter(execution=execution).delete()
        batch: list[ExecutionResultRow] = []
        count = 0
        for count, row in enumerate(reader, start=1):  # noqa: B007
            if count <= limit:
                batch.append(
                    ExecutionResultRow(execution=execution, row_number=count, data=_typed(row))
                )
            if len(batch) >= ROW_BATCH:
                ExecutionResultRow.objects.bulk_create(batch)
                batch = []
        ExecutionResultRow.objects.bulk_create(batch)
        finished = _finish(
            execution.pk,
            to=COMPLETED,
            output_location=stored,
            row_count=count,
            size_bytes=size,
            error_message="",
        )
        if not finished:
            transaction.set_rollback(True)  # cancelled meanwhile: keep nothing half-written


def _typed(row: dict[str, str]) -> dict:
    """CSV text as JSON numbers where the text is a number, so dashboards can add them up."""
    typed = {}
    for key, value in row.items():
        if value is None or value == "":
            typed[key] = None
            continue
        try:
            typed[key] = int(value)
        except ValueError:
            try:
                number = float(value)
                typed[key] = number if number == number and abs(number) != float("inf") else value
            except ValueError:
                typed[key] = value
    return typed


# -- cancel ----------------------------------------------------------------------------------


def request_cancel(execution_pk) -> bool:
    """Cancel now in our books; AMC is told in the background when it has the execution."""
    ReportExecution.objects.filter(pk=execution_pk, status__in=ACTIVE_STATUSES).update(
        cancel_requested=True
    )
    execution = _load(execution_pk)
    submitted = bool(execution.amc_execution_id)
    if not _finish(execution_pk, to=CANCELLED, error_message="Cancelled by a user."):
        return False
    if submitted:
        _enqueue("cancel_at_amc", execution_pk)
    return True


def cancel_at_amc(execution_pk) -> None:
    execution = _load(execution_pk)
    if execution is None or not execution.amc_execution_id:
        return
    client = client_for_instance(execution.instance)
    try:
        client.cancel_execution(execution.instance.instance_id, execution.amc_execution_id)
    except AmcError as exc:
        if exc.retryable and execution.attempts < settings.RECOMAMP_MAX_TRANSIENT_RETRIES:
            ReportExecution.objects.filter(pk=execution_pk).update(attempts=F("attempts") + 1)
            _enqueue("cancel_at_amc", execution_pk, countdown=_backoff(execution.attempts))
            return
        logger.warning("cancel of %s at AMC failed: %s", execution.execution_id, exc)
    ReportExecution.objects.filter(pk=execution_pk).update(amc_status=AmcStatus.CANCELLED)
    release_slot(execution)


# -- failures and retries --------------------------------------------------------------------


def _amc_details(amc: AmcExecution) -> dict:
    return {
        key: value
        for key, value in {
            "failure_reason": amc.failure_reason,
            "error_code": amc.error_code,
            "error_message": amc.error_message,
            "error_details": amc.error_details,
            "validation_errors": list(amc.validation_errors),
        }.items()
        if value
    }


def _fail(execution: ReportExecution, exc: AmcError, *, prefix: str) -> None:
    details = {"status": exc.status, "code": exc.code, "details": exc.details}
    _finish(
        execution.pk,
        to=FAILED,
        error_message=f"{prefix}: {exc.details or exc.message or exc}",
        error_details={key: value for key, value in details.items() if value},
    )


def _backoff(attempts: int) -> float:
    return min(settings.RECOMAMP_POLL_MIN_SECONDS * 2**attempts, settings.RECOMAMP_POLL_MAX_SECONDS)


def _retry_later(
    execution: ReportExecution,
    exc: AmcError,
    *,
    delay: float | None = None,
    unsubmitted: bool = False,
) -> None:
    """A transient AMC failure: try the same step again later, up to a limit, then fail."""
    attempts = execution.attempts + 1
    if attempts > settings.RECOMAMP_MAX_TRANSIENT_RETRIES:
        _fail(execution, exc, prefix=f"AMC kept failing after {attempts - 1} retries")
        return
    delay = _backoff(attempts) if delay is None else delay
    now = timezone.now()
    fields = {
        "attempts": attempts,
        "next_poll_at": now + timedelta(seconds=delay),
        "lease_expires_at": now + timedelta(seconds=delay) + _lease(),
        "error_message": f"Retrying after: {exc}",
    }
    if unsubmitted:
        # Nothing exists at AMC: back to waiting, slot given back for others.
        fields.update(submit_started_at=None, lease_expires_at=None)
        ReportExecution.objects.filter(pk=execution.pk, status=PENDING).update(**fields)
        release_slot(execution)
        _enqueue("start_execution", execution.pk, countdown=delay)
        return
    if execution.amc_status == AmcStatus.SUCCEEDED or execution.submit_started_at is not None:
        # A download to redo, or a submit whose outcome is unknown: the retry (or the
        # sweeper, whichever comes first) must find the lease lapsed to take the step over.
        fields["lease_expires_at"] = now + timedelta(seconds=delay)
    ReportExecution.objects.filter(pk=execution.pk, status__in=ACTIVE_STATUSES).update(**fields)
    step = "poll_execution" if execution.amc_execution_id else "start_execution"
    _enqueue(step, execution.pk, countdown=delay)


# -- sweeper ---------------------------------------------------------------------------------


def sweep() -> dict[str, int]:
    """Crash recovery, run every few seconds by beat.

    Gives back slots of executions that ended, resumes executions whose worker went away
    (their lease lapsed), and starts waiting executions where slots are free.
    """
    now = timezone.now()
    # Cancelled after submit but AMC never told (the worker died): tell it now.
    for pk in (
        ReportExecution.objects.filter(
            status=CANCELLED, slot__isnull=False, slot__lease_expires_at__lt=now
        )
        .exclude(amc_execution_id="")
        .values_list("pk", flat=True)
    ):
        _enqueue("cancel_at_amc", pk)
    freed = ExecutionSlot.objects.filter(
        Q(execution__status__in=TERMINAL_STATUSES)
        & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
    ).update(execution=None, lease_expires_at=None)
    stalled = list(
        ReportExecution.objects.filter(status__in=ACTIVE_STATUSES)
        .filter(
            # polled or being submitted, and the worker's lease lapsed
            Q(lease_expires_at__lt=now) & (Q(status=RUNNING) | Q(submit_started_at__isnull=False))
            # or it took a slot and died before claiming the submit
            | Q(status=PENDING, submit_started_at__isnull=True, slot__lease_expires_at__lt=now)
        )
        .values_list("pk", "status")
    )
    for pk, status in stalled:
        _enqueue("poll_execution" if status == RUNNING else "start_execution", pk)
    started = 0
    waiting_instances = (
        ReportExecution.objects.filter(status=PENDING, submit_started_at__isnull=True)
        .values("instance_id")
        .annotate(n=Count("pk"))
    )
    for row in waiting_instances:
        started += dispatch_waiting(instance_pk=row["instance_id"])
    return {"slots_freed": freed, "resumed": len(stalled), "started": started}


# -- plumbing --------------------------------------------------------------------------------


def _load(execution_pk) -> ReportExecution | None:
    return (
        ReportExecution.objects.select_related("instance__account", "report")
        .filter(pk=execution_pk)
        .first()
    )


def _enqueue(task_name: str, execution_pk, *, countdown: float = 0) -> None:
    """Send a follow-up task once the current transaction has committed."""
    from reports import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(
        lambda: task.apply_async(args=[str(execution_pk)], countdown=max(countdown, 0) or None)
    )
