import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from recomamp.celery import app as celery_app


@pytest.fixture
def eager_tasks():
    """Celery tasks run in the calling thread, so a test sees their effects at once."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def webhook_receiver(settings):
    """A real HTTP server on loopback that records the JSON bodies POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server interface
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.RECOMAMP_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.RECOMAMP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    server.url = f"http://127.0.0.1:{server.server_port}/hook"
    server.received = received
    yield server
    server.shutdown()
    server.server_close()
