"""Structured logs: one JSON object a line with the same fields, and never a secret."""

import io
import json
import logging
import logging.config

import pytest

from recomamp.logs import (
    CONTEXT_FIELDS,
    bind_log_context,
    clear_log_context,
    log_context,
    logging_config,
)


@pytest.fixture
def json_lines():
    """Configures logging as production does (JSON) into a buffer; restores it afterwards."""
    clear_log_context()  # an earlier test in this thread may have bound a run's ids
    stream = io.StringIO()
    config = logging_config(json_format=True, level="DEBUG")
    config["handlers"]["console"]["stream"] = stream
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logging.config.dictConfig(config)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    clear_log_context()


def test_every_line_has_the_same_fields_and_the_bound_execution_ids(json_lines):
    logging.getLogger("recomamp.anything").info("before any context")
    bind_log_context(execution_id="exec_ab12cd34", report_id="rpt_ab12cd34", instance="amc1")
    logging.getLogger("reports.engine").info("submitted to AMC as %s", "abc-123")
    with log_context(backfill_id="b-1"):
        logging.getLogger("backfills").warning("segment retried")
    first, second, third = json_lines()
    for line in (first, second, third):
        assert {"time", "level", "logger", "message", *CONTEXT_FIELDS} <= set(line)
    assert first["execution_id"] is None
    assert second["message"] == "submitted to AMC as abc-123"
    assert second["execution_id"] == "exec_ab12cd34" and second["instance"] == "amc1"
    assert third["backfill_id"] == "b-1" and third["execution_id"] == "exec_ab12cd34"


def test_signed_urls_and_tokens_are_scrubbed_at_every_level(json_lines):
    url = (
        "https://amc-results.s3.amazonaws.com/r/part-0.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAEXAMPLE%2F20261201&X-Amz-Signature=0123456789abcdef"
        "&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE"
    )
    # What urllib3 writes at DEBUG, and an error that carries a request's form body.
    logging.getLogger("urllib3.connectionpool").debug('"GET %s HTTP/1.1" 200 512', url)
    logging.getLogger("recomamp.amc").error(
        "refresh failed: grant_type=refresh_token&refresh_token=Atzr|IwEBIsecret&client_secret=s3"
    )
    logging.getLogger("requests").info("Authorization: Bearer Atza|IwEBIaccess-token")
    text = json.dumps(json_lines())
    for secret in (
        "0123456789abcdef",
        "FwoGZXIvYXdzEXAMPLE",
        "AKIAEXAMPLE",
        "IwEBIsecret",
        "client_secret=s3",
        "IwEBIaccess-token",
    ):
        assert secret not in text
    assert "[redacted]" in text


def test_an_exception_trace_is_scrubbed_too(json_lines):
    try:
        raise RuntimeError("download of https://x/y?X-Amz-Signature=feedbeef failed")
    except RuntimeError:
        logging.getLogger("reports").exception("step failed")
    (line,) = json_lines()
    assert "feedbeef" not in json.dumps(line)
