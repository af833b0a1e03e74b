"""Shared set-up of the benchmarks: Django on the benchmark database, free ports, percentiles."""

import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recomamp.settings")
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def process_group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def wait_until_idle(pgids: list[int], *, timeout: float = 60.0) -> float:
    """Wait until the process groups (Celery workers: every pool process warms itself up after
    "ready.") use under 5 % of a CPU over a second; start-up is not what a benchmark measures.
    Returns the seconds waited."""
    import time

    started = time.monotonic()
    before = sum(process_group_cpu_seconds(pgid) for pgid in pgids)
    while time.monotonic() - started < timeout:
        time.sleep(1.0)
        now = sum(process_group_cpu_seconds(pgid) for pgid in pgids)
        if now - before < 0.05:
            break
        before = now
    return time.monotonic() - started
