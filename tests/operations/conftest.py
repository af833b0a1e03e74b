import pytest

from recomamp.celery import app as celery_app


@pytest.fixture
def eager_tasks():
    """Celery tasks run in the calling thread, so a test sees their effects at once."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before
