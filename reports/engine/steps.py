"""The steps of an execution, each run by a worker (reports.tasks) with the execution's pk:
start (dispatched -> submitting -> submitted), poll, download, cancel at AMC.

Every step re-reads the execution and claims its phase with a conditional move, so a step
that runs twice (a redelivered task, the sweeper's repair) does no harm. Any exception a step
does not expect counts as a failed attempt (`retry_later`); after RECOMAMP_MAX_TRANSIENT_RETRIES
the execution fails with the reason and gives its slot back.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from instances.models import AmcAccount, AmcInstance
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
from recomamp.logs import bind_log_context
from recomamp.rows import from_row, select_columns
from reports.amc import client_for_instance
from reports.engine import queue, results, slots, states
from reports.engine.states import (
    CANCELLED,
    CANCELLING,
    DISPATCHED,
    DOWNLOADING,
    FAILED,
    QUEUED,
    SUBMITTED,
    SUBMITTING,
    State,
)
from reports.models import ExecutionPhase, ReportDefinition, ReportExecution
from reports.signals import send_execution_finished, send_execution_left_amc
from schedules.models import ReportSchedule

logger = logging.getLogger(__name__)

#: A poll message that arrives this early is still the poll's turn. Its ETA is set after the
#: commit that stored next_poll_at, on the same clock, so it is never early by more than this.
POLL_TOLERANCE = timedelta(milliseconds=5)


def _tasks():
    from reports import tasks

    return tasks


def load(execution_pk) -> ReportExecution | None:
    """The execution with what a step needs (its instance and account, report and schedule);
    its ids are bound to every log line from here."""
    if connection.vendor == "postgresql":
        execution = _load_written_out(execution_pk)
    else:
        execution = (
            ReportExecution.objects.select_related("instance__account", "report", "schedule")
            .filter(pk=execution_pk)
            .first()
        )
    if execution is not None:
        bind_log_context(
            execution_id=execution.execution_id,
            report_id=execution.report.report_id,
            instance=execution.instance.instance_id,
            schedule_id=execution.schedule.schedule_id if execution.schedule_id else None,
            backfill_id=execution.collection_id,
        )
    return execution


@functools.cache
def _load_statement() -> str:
    """`load`'s query as select_related writes it, built once: every step reads an execution
    this way, and building it through the ORM cost about three times the rest of the read."""
    return (
        f"SELECT {select_columns(ReportExecution, 'e')}, {select_columns(AmcInstance, 'i')},"
        f" {select_columns(AmcAccount, 'a')}, {select_columns(ReportDefinition, 'r')},"
        f" {select_columns(ReportSchedule, 's')} FROM {ReportExecution._meta.db_table} e"
        f" JOIN {AmcInstance._meta.db_table} i ON i.id = e.instance_id"
        f" JOIN {AmcAccount._meta.db_table} a ON a.id = i.account_id"
        f" JOIN {ReportDefinition._meta.db_table} r ON r.id = e.report_id"
        f" LEFT JOIN {ReportSchedule._meta.db_table} s ON s.id = e.schedule_id"
        " WHERE e.id = %s"
    )


def _load_written_out(execution_pk) -> ReportExecution | None:
    pk = ReportExecution._meta.pk.get_db_prep_value(execution_pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(_load_statement(), [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)
    execution = from_row(ReportExecution, values)
    instance = from_row(AmcInstance, values)
    AmcInstance.account.field.set_cached_value(instance, from_row(AmcAccount, values))
    ReportExecution.instance.field.set_cached_value(execution, instance)
    ReportExecution.report.field.set_cached_value(execution, from_row(ReportDefinition, values))
    schedule = from_row(ReportSchedule, values) if execution.schedule_id else None
    ReportExecution.schedule.field.set_cached_value(execution, schedule)
    return execution


# -- the one public finish -------------------------------------------------------------------


def finish(
    execution_pk,
    to: State,
    *,
    sources=None,
    where: Q | None = None,
    user=None,
    detail: dict | None = None,
    **fields,
) -> bool:
    """End an execution (completed, failed, cancelled or cancelling): the move, its slot given
    back (a cancelling one keeps it until AMC has been told) and, after commit,
    `execution_finished` for the other apps."""
    assert to in states.TERMINAL_STATES or to == CANCELLING
    moved = states.move_returning_instance(
        execution_pk, to, sources=sources, where=where, user=user, detail=detail, **fields
    )
    if moved is None:
        return False
    left, instance_pk = moved
    if to != CANCELLING and left.phase in states.SLOT_PHASES:
        slots.release_slot(execution_pk, instance_pk)
    send_execution_finished(execution_pk, to.status)
    logger.info("execution %s %s (from %s)", execution_pk, to, left)
    return True


# -- start: dispatched -> submitting -> submitted --------------------------------------------


def start(execution_pk) -> None:
    """Submit a dispatched execution; resume one that is further along."""
    execution = load(execution_pk)
    if execution is None or execution.is_terminal:
        return
    phase = execution.phase
    if phase == ExecutionPhase.QUEUED:
        slots.dispatch_waiting(
            instance_pk=execution.instance_id, cap=execution.instance.concurrency_cap
        )
    elif phase in (ExecutionPhase.SUBMITTED, ExecutionPhase.DOWNLOADING):
        poll(execution_pk)
    elif phase == ExecutionPhase.SUBMITTING:
        reconcile_submit(execution)
    elif phase == ExecutionPhase.DISPATCHED:
        now = timezone.now()
        claimed = states.move(
            execution_pk,
            SUBMITTING,
            sources={DISPATCHED},
            submit_started_at=now,
            lease_expires_at=now + slots.lease(),
        )
        if claimed:
            execution.submit_started_at = now
            submit(execution)


def submit(execution: ReportExecution) -> None:
    try:
        client = client_for_instance(execution.instance)
        amc = client.create_execution(
            execution.instance.instance_id,
            sql=execution.rendered_sql,
            window_start=execution.time_window_start,
            window_end=execution.time_window_end,
            time_zone=execution.report.timezone,
        )
    except AmcQueryError as exc:
        fail(execution, exc, prefix="AMC rejected the query")
        return
    except AmcThrottled as exc:
        # AMC created nothing: give the slot back and wait as long as AMC asks.
        retry_later(execution, exc, delay=exc.retry_after, unsubmitted=True)
        return
    except AmcConnectionError as exc:
        retry_later(execution, exc, unsubmitted=not exc.request_sent)
        return
    except AmcServerError as exc:
        retry_later(execution, exc)  # AMC may have created it: look for it before resending
        return
    except AmcError as exc:
        fail(execution, exc, prefix="AMC refused the execution")
        return
    except Exception as exc:  # noqa: BLE001 - any surprise is a failed attempt, never a loop
        retry_later(execution, exc)
        return
    record_submitted(execution, amc)


def record_submitted(execution: ReportExecution, amc: AmcExecution, *, adopted=False) -> None:
    now = timezone.now()
    delay = first_poll_delay(execution.instance_id)
    moved = states.move(
        execution.pk,
        SUBMITTED,
        sources={SUBMITTING},
        detail={"amc_execution_id": amc.execution_id, "amc_status": amc.status, "adopted": adopted},
        amc_execution_id=amc.execution_id,
        amc_status=amc.status,
        started_at=now,
        attempts=0,
        error_message="",
        next_poll_at=now + timedelta(seconds=delay),
        lease_expires_at=now + timedelta(seconds=delay) + slots.lease(),
    )
    if moved:
        queue.enqueue(_tasks().poll_execution, execution.pk, countdown=delay)
        return
    current = ReportExecution.objects.get(pk=execution.pk)
    if current.amc_execution_id == amc.execution_id:
        return  # a twin task recorded the same AMC execution first
    if current.status == CANCELLED.status and not current.amc_execution_id:
        # Cancelled while we were submitting: stop it at AMC, then let the slot go.
        ReportExecution.objects.filter(pk=execution.pk).update(amc_execution_id=amc.execution_id)
        cancel_at_amc(execution.pk, claimed=True)
        return
    # AMC runs another execution for this one already: stop this extra one.
    logger.warning(
        "execution %s: cancelling extra AMC execution %s", execution.execution_id, amc.execution_id
    )
    with contextlib.suppress(Exception):
        client_for_instance(execution.instance).cancel_execution(
            execution.instance.instance_id, amc.execution_id
        )


def _lapsed(now) -> Q:
    return Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)


def reconcile_submit(execution: ReportExecution) -> None:
    """A submit whose outcome is unknown (worker died, 5xx): adopt AMC's execution or resend."""
    now = timezone.now()
    claimed = states.move(
        execution.pk,
        SUBMITTING,
        sources={SUBMITTING},
        where=_lapsed(now) & Q(amc_execution_id=""),
        detail={"reconcile": "looking the submit up at AMC"},
        lease_expires_at=now + slots.lease(),
    )
    if not claimed:
        return  # the submitting worker, or another reconciler, is still at it
    try:
        client = client_for_instance(execution.instance)
        found = client.find_matching_executions(
            execution.instance.instance_id,
            sql=execution.rendered_sql,
            window_start=execution.time_window_start,
            window_end=execution.time_window_end,
            time_zone=execution.report.timezone,
            submitted_after=(execution.submit_started_at or now) - timedelta(minutes=5),
        )
    except Exception as exc:  # noqa: BLE001
        retry_later(execution, exc)
        return
    if found:
        logger.info("execution %s adopts AMC %s", execution.execution_id, found[0].execution_id)
        record_submitted(execution, found[0], adopted=True)
        return
    # AMC never saw it: submit afresh, keeping the slot.
    execution.submit_started_at = timezone.now()
    moved = states.move(
        execution.pk,
        SUBMITTING,
        sources={SUBMITTING},
        where=Q(amc_execution_id=""),
        detail={"reconcile": "not at AMC: submitting again"},
        submit_started_at=execution.submit_started_at,
        lease_expires_at=execution.submit_started_at + slots.lease(),
    )
    if moved:
        submit(execution)


# -- poll and download -----------------------------------------------------------------------


def poll(execution_pk) -> None:
    """Ask AMC how the execution is doing (once per turn); download when it succeeded."""
    now = timezone.now()
    execution = load(execution_pk)
    if execution is None:
        return
    if execution.phase == ExecutionPhase.DOWNLOADING:
        download(execution_pk)
        return
    if execution.phase != ExecutionPhase.SUBMITTED:
        return
    # Claim this turn: a duplicate poll chain finds the next turn taken and stops.
    turn = ReportExecution.objects.filter(
        pk=execution_pk,
        phase=ExecutionPhase.SUBMITTED,
        next_poll_at__lte=now + POLL_TOLERANCE,
    ).update(next_poll_at=now + slots.lease(), lease_expires_at=now + slots.lease())
    if not turn:
        return
    try:
        client = client_for_instance(execution.instance)
        amc = client.get_execution(execution.instance.instance_id, execution.amc_execution_id)
    except AmcError as exc:
        if exc.retryable:
            retry_later(execution, exc)
        else:
            fail(execution, exc, prefix="AMC status check failed")
        return
    except Exception as exc:  # noqa: BLE001
        retry_later(execution, exc)
        return
    if amc.status == AmcStatus.SUCCEEDED:
        moved = states.move(
            execution_pk,
            DOWNLOADING,
            sources={SUBMITTED},
            detail={"amc_status": amc.status},
            amc_status=amc.status,
            attempts=0,
            next_poll_at=None,
            lease_expires_at=timezone.now() + slots.lease(),
        )
        if moved:
            # AMC no longer runs it: the slot goes to the oldest waiting execution now. The
            # backfill's next segment is created first (its creation dispatches at once), so
            # that the slot's hand-over takes one dispatch; its download comes after.
            released = slots.release_slot(execution_pk, execution.instance_id, dispatch=False)
            send_execution_left_amc(
                execution_pk,
                instance_pk=execution.instance_id,
                backfill_pk=execution.collection_id,
            )
            if released:
                slots.dispatch_waiting(
                    instance_pk=execution.instance_id, cap=execution.instance.concurrency_cap
                )
            observe_latency(execution, amc)
            download(execution_pk, claimed=execution)
    elif amc.status in (AmcStatus.FAILED, "REJECTED"):
        finish(
            execution_pk,
            FAILED,
            sources={SUBMITTED},
            detail={"amc_status": amc.status, "error": amc.failure_text},
            amc_status=amc.status,
            error_message=amc.failure_text or "AMC reported the execution failed.",
            error_details=_amc_details(amc),
        )
    elif amc.status == AmcStatus.CANCELLED:
        finish(
            execution_pk,
            CANCELLED,
            sources={SUBMITTED},
            detail={"amc_status": amc.status},
            amc_status=amc.status,
        )
    else:
        delay = poll_delay(execution)
        now = timezone.now()
        fields = {
            "amc_status": amc.status,
            "attempts": 0,
            "next_poll_at": now + timedelta(seconds=delay),
            "lease_expires_at": now + timedelta(seconds=delay) + slots.lease(),
        }
        if amc.status != execution.amc_status:
            states.move(
                execution_pk,
                SUBMITTED,
                sources={SUBMITTED},
                detail={"amc_status": amc.status},
                **fields,
            )
        else:
            ReportExecution.objects.filter(pk=execution_pk, phase=ExecutionPhase.SUBMITTED).update(
                **fields
            )
        queue.enqueue(_tasks().poll_execution, execution_pk, countdown=delay)


#: Per instance: how long AMC's runs took recently, from submit to SUCCEEDED by AMC's own clock
#: (a moving average and its mean deviation), so a poll comes when the run is likely done rather
#: than on a fixed clock. Shared by every worker through the cache (one worker's observation
#: times every worker's polls); this process's own copy serves when the cache cannot.
_observed: dict = {}
LATENCY_CACHE_KEY = "recomamp:amc-latency:{}"
LATENCY_CACHE_SECONDS = 24 * 3600


def observed_latency(instance_pk) -> tuple[float, float] | None:
    try:
        shared = cache.get(LATENCY_CACHE_KEY.format(instance_pk))
    except Exception:  # noqa: BLE001 - a hint: without the cache, this process's own one
        shared = None
    return shared or _observed.get(instance_pk)


def observe_latency(execution: ReportExecution, amc: AmcExecution) -> None:
    if amc.creation_time is not None and amc.end_time is not None:
        took = (amc.end_time - amc.creation_time).total_seconds()
    elif execution.started_at is not None:
        took = (timezone.now() - execution.started_at).total_seconds()
    else:
        return
    previous = observed_latency(execution.instance_id)
    if previous is None:
        observed = (took, took / 4)
    else:
        mean, deviation = previous
        observed = (0.8 * mean + 0.2 * took, 0.75 * deviation + 0.25 * abs(took - mean))
    _observed[execution.instance_id] = observed
    with contextlib.suppress(Exception):
        cache.set(LATENCY_CACHE_KEY.format(execution.instance_id), observed, LATENCY_CACHE_SECONDS)


def expected_seconds(instance_pk) -> float | None:
    """When a run of this instance is likely done, counted from its submit: the recent mean
    plus its deviation (a poll a little late, rather than one too early and another after)."""
    observed = observed_latency(instance_pk)
    if observed is None:
        return None
    mean, deviation = observed
    return mean + max(deviation, 0.01)


def first_poll_delay(instance_pk) -> float:
    expected = expected_seconds(instance_pk)
    if expected is None:
        return settings.RECOMAMP_POLL_MIN_SECONDS
    return min(
        max(settings.RECOMAMP_POLL_MIN_SECONDS, expected), settings.RECOMAMP_POLL_MAX_SECONDS
    )


def poll_delay(execution: ReportExecution) -> float:
    """When to ask AMC again: when runs of this instance have been ending (observed in this
    process), else a tenth of the time it has run; within the configured bounds."""
    elapsed = (timezone.now() - (execution.started_at or timezone.now())).total_seconds()
    expected = expected_seconds(execution.instance_id)
    delay = expected - elapsed if expected and elapsed < expected else elapsed / 10
    return min(max(settings.RECOMAMP_POLL_MIN_SECONDS, delay), settings.RECOMAMP_POLL_MAX_SECONDS)


def download(execution_pk, *, claimed: ReportExecution | None = None) -> None:
    """Store the CSV, load its rows and complete the execution; once, even if asked twice.
    `claimed`: the execution, loaded, when the caller has just moved it to downloading."""
    if claimed is None:
        now = timezone.now()
        taken = states.move(
            execution_pk,
            DOWNLOADING,
            sources={DOWNLOADING},
            where=_lapsed(now),
            detail={"download": "taking the download over (lease lapsed)"},
            lease_expires_at=now + slots.lease(),
        )
        if not taken:
            return  # another worker is downloading it
    execution = claimed or load(execution_pk)
    try:
        results.store_and_complete(execution)
    except AmcDownloadExpired as exc:
        retry_later(execution, exc, delay=0)  # fresh URLs on the next try
    except results.UnreadableResult as exc:
        finish(execution_pk, FAILED, sources={DOWNLOADING}, error_message=str(exc))
    except AmcError as exc:
        if exc.retryable:
            retry_later(execution, exc)
        else:
            fail(execution, exc, prefix="Downloading the result failed")
    except Exception as exc:  # noqa: BLE001 - storage full, a crash: a failed attempt
        retry_later(execution, exc)


# -- cancel ----------------------------------------------------------------------------------


def request_cancel(execution_pk, *, user=None) -> bool:
    """Cancel now in our books; AMC is told (before the slot goes) when it may have it."""
    ReportExecution.objects.filter(pk=execution_pk, status__in=states.ACTIVE_STATUSES).update(
        cancel_requested=True
    )
    detail = {"reason": "cancelled by a user" if user else "cancelled"}
    message = "Cancelled by a user."
    if finish(
        execution_pk,
        CANCELLED,
        sources={QUEUED, DISPATCHED, DOWNLOADING},
        user=user,
        detail=detail,
        error_message=message,
    ):
        return True
    execution = ReportExecution.objects.filter(pk=execution_pk).first()
    if execution is None:
        return False
    if execution.phase == ExecutionPhase.SUBMITTED:
        # The cancel task claims it at once (lease cleared).
        if finish(
            execution_pk,
            CANCELLING,
            sources={SUBMITTED},
            user=user,
            detail=detail,
            error_message=message,
            lease_expires_at=None,
        ):
            queue.enqueue(_tasks().cancel_at_amc, execution_pk)
            return True
        return request_cancel(execution_pk, user=user)  # it moved meanwhile: try again
    if execution.phase == ExecutionPhase.SUBMITTING:
        # The submitting worker tells AMC when its submit returns; if it died, the sweeper
        # does once its lease lapses.
        return finish(
            execution_pk,
            CANCELLING,
            sources={SUBMITTING},
            user=user,
            detail=detail,
            error_message=message,
        ) or request_cancel(execution_pk, user=user)
    return False


def cancel_at_amc(execution_pk, *, claimed: bool = False) -> None:
    """Tell AMC to stop a cancelled execution, then give its slot back."""
    now = timezone.now()
    execution = load(execution_pk)
    if execution is None or execution.phase != ExecutionPhase.CANCELLING:
        return
    if not claimed:
        taken = ReportExecution.objects.filter(
            _lapsed(now), pk=execution_pk, phase=ExecutionPhase.CANCELLING
        ).update(lease_expires_at=now + slots.lease())
        if not taken:
            return
    client = client_for_instance(execution.instance)
    told = "told"
    try:
        amc_ids = [execution.amc_execution_id] if execution.amc_execution_id else []
        if not amc_ids and execution.submit_started_at is not None:
            # The submitter died: whatever AMC created for it must stop too.
            amc_ids = [
                found.execution_id
                for found in client.find_matching_executions(
                    execution.instance.instance_id,
                    sql=execution.rendered_sql,
                    window_start=execution.time_window_start,
                    window_end=execution.time_window_end,
                    time_zone=execution.report.timezone,
                    submitted_after=execution.submit_started_at - timedelta(minutes=5),
                )
            ]
        for amc_id in amc_ids:
            client.cancel_execution(execution.instance.instance_id, amc_id)
    except Exception as exc:  # noqa: BLE001
        retryable = not isinstance(exc, AmcError) or exc.retryable
        if retryable and execution.attempts < settings.RECOMAMP_MAX_TRANSIENT_RETRIES:
            delay = backoff(execution.attempts)
            states.move(
                execution_pk,
                CANCELLING,
                sources={CANCELLING},
                detail={"retry": execution.attempts + 1, "error": str(exc)},
                attempts=execution.attempts + 1,
                lease_expires_at=timezone.now() + timedelta(seconds=delay),
            )
            queue.enqueue(_tasks().cancel_at_amc, execution_pk, countdown=delay)
            return
        logger.warning("cancel of %s at AMC failed: %s", execution.execution_id, exc)
        told = f"telling AMC failed: {exc}"
    left = states.move(
        execution_pk,
        CANCELLED,
        sources={CANCELLING},
        detail={"amc": told},
        amc_status=AmcStatus.CANCELLED,
    )
    if left is not None:
        slots.release_slot(execution_pk, execution.instance_id)


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


def fail(execution: ReportExecution, exc: Exception, *, prefix: str) -> None:
    if isinstance(exc, AmcError):
        details = {"status": exc.status, "code": exc.code, "details": exc.details}
        reason = exc.details or exc.message or str(exc)
    else:
        details = {"exception": type(exc).__name__}
        reason = str(exc) or type(exc).__name__
    details = {key: value for key, value in details.items() if value}
    finish(
        execution.pk,
        FAILED,
        detail={"error": f"{prefix}: {reason}", **details},
        error_message=f"{prefix}: {reason}",
        error_details=details,
    )


def backoff(attempts: int) -> float:
    return min(settings.RECOMAMP_POLL_MIN_SECONDS * 2**attempts, settings.RECOMAMP_POLL_MAX_SECONDS)


def retry_later(
    execution: ReportExecution,
    exc: Exception,
    *,
    delay: float | None = None,
    unsubmitted: bool = False,
) -> None:
    """A failed attempt of the current step: the same step again later, up to a limit, then
    the execution fails with the reason (and gives its slot back)."""
    current = (
        ReportExecution.objects.filter(pk=execution.pk)
        .values_list("status", "phase", "attempts")
        .first()
    )
    if current is None:
        return
    state, attempts = State(current[0], current[1]), current[2] + 1
    if state in states.TERMINAL_STATES or state == CANCELLING:
        return
    label = "AMC kept failing" if isinstance(exc, AmcError) else "The run kept failing"
    if attempts > settings.RECOMAMP_MAX_TRANSIENT_RETRIES:
        fail(execution, exc, prefix=f"{label} after {attempts - 1} retries")
        return
    if not isinstance(exc, AmcError):
        logger.exception("execution %s: unexpected error (attempt %s)", execution.pk, attempts)
    delay = backoff(attempts) if delay is None else delay
    now = timezone.now()
    due = now + timedelta(seconds=delay)
    detail = {"retry": attempts, "error": f"{type(exc).__name__}: {exc}", "delay": delay}
    fields = {"attempts": attempts, "error_message": f"Retrying after: {exc}"}
    tasks = _tasks()
    if unsubmitted and state == SUBMITTING:
        # Nothing exists at AMC: back to the queue, the slot given back for others.
        moved = states.move(
            execution.pk,
            QUEUED,
            sources={SUBMITTING},
            detail=detail,
            submit_started_at=None,
            lease_expires_at=None,
            next_poll_at=due,
            **fields,
        )
        if moved:
            slots.release_slot(execution.pk, execution.instance_id)
            queue.enqueue(tasks.start_execution, execution.pk, countdown=delay)
        return
    # The retry (or the sweeper, whichever comes first) finds the lease lapsed at `due`.
    moved = states.move(
        execution.pk,
        state,
        sources={state},
        detail=detail,
        next_poll_at=due,
        lease_expires_at=due,
        **fields,
    )
    if moved:
        task = tasks.start_execution
        if state in (SUBMITTED, DOWNLOADING):
            task = tasks.poll_execution
        queue.enqueue(task, execution.pk, countdown=delay)
