"""The embedded broker (filesystem transport) with a producer and a consumer in two processes."""

import multiprocessing
import os
import subprocess
import sys
import traceback
from pathlib import Path
from queue import Empty

from kombu import Connection

from recomamp.broker import Transport

COUNT = 200
BODY = [{"campaign": f"campaign {n}", "sales": n * 1.5} for n in range(2_000)]


def _connection(folder, transport):
    return Connection(
        transport=transport,
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )


def _consume(folder, transport, results):
    received = []
    try:
        with _connection(folder, transport) as connection:
            queue = connection.SimpleQueue("celery")
            while len(received) < COUNT:
                try:
                    message = queue.get(timeout=30)
                except Empty:
                    break
                received.append((message.payload["number"], message.payload["body"] == BODY))
                message.ack()
        results.put(("ok", received))
    except Exception:  # a half-written message or table cannot be decoded
        results.put(("error", traceback.format_exc()))


def _produce_and_consume(folder, transport):
    (folder / "control").mkdir()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    consumer = context.Process(target=_consume, args=(folder, transport, results))
    consumer.start()
    with _connection(folder, transport) as connection:
        queue = connection.SimpleQueue("celery")
        for number in range(COUNT):
            queue.put({"number": number, "body": BODY})
    outcome = results.get(timeout=120)
    consumer.join(10)
    return outcome


def test_a_consumer_reading_while_messages_are_written_gets_every_message_whole(tmp_path):
    status, received = _produce_and_consume(tmp_path, Transport)

    assert status == "ok", received
    assert sorted(number for number, _ in received) == list(range(COUNT))
    assert all(whole for _, whole in received)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_the_embedded_default_connects_through_this_broker(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(RECOMAMP_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="recomamp.settings")
    script = (
        "import django; django.setup()\n"
        "from recomamp.celery import app\n"
        "with app.connection_for_write() as c:\n"
        "    c.ensure_connection(max_retries=1)\n"
        "    c.default_channel\n"
        "    print(type(c.transport).__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "recomamp.broker"
