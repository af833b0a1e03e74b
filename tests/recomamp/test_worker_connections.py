"""A worker keeps its database connection from task to task, and drops one a task left in doubt.

The receiver runs around every task in a worker process; here it is called as Celery calls it.
"""

from types import SimpleNamespace

import psycopg
import pytest
from django.db import connection

from recomamp.celery import _release_connections


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def between_tasks(*, eager=False) -> None:
    _release_connections(task=SimpleNamespace(request=SimpleNamespace(is_eager=eager)))


@pytest.fixture
def postgresql(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's backend ids")


def test_the_next_task_reuses_a_healthy_connection(postgresql):
    pid = backend_pid()

    between_tasks()

    assert backend_pid() == pid


def test_a_connection_left_inside_a_transaction_is_closed(postgresql):
    # As a time limit's exception raised in the middle of a statement can leave it.
    pid = backend_pid()
    connection.connection.execute("BEGIN")

    between_tasks()

    assert backend_pid() != pid


def test_a_connection_the_server_dropped_is_replaced_before_the_next_task_uses_it(postgresql):
    # As a database restart does: nothing failed in this process, the socket is simply dead.
    pid = backend_pid()
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])

    between_tasks()

    assert backend_pid() != pid


@pytest.mark.django_db
def test_an_eager_task_leaves_its_callers_transaction_alone():
    pid = backend_pid()

    between_tasks(eager=True)

    assert connection.in_atomic_block
    assert backend_pid() == pid
