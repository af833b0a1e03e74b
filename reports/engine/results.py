"""Downloading a result: the CSV spooled, stored under this attempt's own name, its rows typed
and loaded, and the execution completed, all or nothing.

Each download attempt writes its own file (`<execution_id>.<token>.csv`); the transaction that
completes the execution is what makes that file the result (`output_location`). An attempt
that loses the race (the run was cancelled, or another worker completed it after this one's
lease lapsed) deletes only its own file: a completed run's file is never touched by a late
worker. The lease is renewed while bytes arrive, so a long download keeps its claim.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import tempfile
import time

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from reports.amc import client_for_instance
from reports.engine import slots, states
from reports.models import ExecutionPhase, ExecutionResultRow, ReportExecution

ROW_BATCH = 5000


class UnreadableResult(Exception):
    pass


def store_and_complete(execution: ReportExecution) -> bool:
    from reports.engine.steps import finish

    client = client_for_instance(execution.instance)
    token = secrets.token_hex(4)
    name = f"results/{execution.instance.instance_id}/{execution.execution_id}.{token}.csv"
    with tempfile.TemporaryFile() as spool:
        urls = client.get_download_urls(execution.instance.instance_id, execution.amc_execution_id)
        renewing = _LeaseRenewingFile(spool, execution.pk)
        size = _download_all(client, urls, renewing)
        spool.seek(0)
        stored = default_storage.save(name, File(spool, name=name))
        try:
            spool.seek(0)
            with transaction.atomic():
                count = _load_rows(execution, spool)
                completed = finish(
                    execution.pk,
                    states.COMPLETED,
                    sources={states.DOWNLOADING},
                    detail={"rows": count, "bytes": size},
                    output_location=stored,
                    row_count=count,
                    size_bytes=size,
                    error_message="",
                )
                if not completed:
                    transaction.set_rollback(True)  # cancelled meanwhile: keep nothing
        except BaseException:
            default_storage.delete(stored)
            raise
        if not completed:
            default_storage.delete(stored)
        return completed


class _LeaseRenewingFile:
    """A write-only file that renews the download's lease every third of a lease."""

    def __init__(self, fileobj, execution_pk) -> None:
        self.fileobj = fileobj
        self.execution_pk = execution_pk
        self.every = settings.RECOMAMP_LEASE_SECONDS / 3
        self.renewed = time.monotonic()

    def write(self, data: bytes) -> int:
        if time.monotonic() - self.renewed > self.every:
            self.renewed = time.monotonic()
            ReportExecution.objects.filter(
                pk=self.execution_pk, phase=ExecutionPhase.DOWNLOADING
            ).update(lease_expires_at=timezone.now() + slots.lease())
        return self.fileobj.write(data)

    def __getattr__(self, name):
        return getattr(self.fileobj, name)


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


def _load_rows(execution: ReportExecution, spool) -> int:
    reader = csv.DictReader(io.TextIOWrapper(spool, encoding="utf-8", newline=""))
    limit = settings.RECOMAMP_MAX_LOADED_ROWS
    ExecutionResultRow.objects.filter(execution=execution).delete()
    batch: list[ExecutionResultRow] = []
    count = 0
    try:
        for count, row in enumerate(reader, start=1):  # noqa: B007
            if count <= limit:
                batch.append(
                    ExecutionResultRow(execution=execution, row_number=count, data=typed(row))
                )
            if len(batch) >= ROW_BATCH:
                ExecutionResultRow.objects.bulk_create(batch)
                batch = []
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnreadableResult(f"The result is not a readable CSV: {exc}") from exc
    ExecutionResultRow.objects.bulk_create(batch)
    return count


_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def typed(row: dict[str, str]) -> dict:
    """CSV text as JSON numbers where the text is plainly a number, so dashboards can add them
    up; anything else stays text, exactly: `00123` (a zip code), `1_000`, ` 42 `, `1e999`."""
    out = {}
    for key, value in row.items():
        if value is None or value == "":
            out[key] = None
        elif _INTEGER.fullmatch(value):
            out[key] = int(value)
        elif _DECIMAL.fullmatch(value):
            number = float(value)
            out[key] = number if abs(number) != float("inf") else value
        else:
            out[key] = value
    return out
