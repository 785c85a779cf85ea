"""Database access for the hot paths (publication): prepared look-ups, and fewer round trips.

Profiling publishMessage showed the ORM spending more time compiling a simple
`filter(...).first()` than PostgreSQL spent running it; these statements are rendered
once per process and prepared once per connection (psycopg `prepare=True`). It also showed
round trips to PostgreSQL as a large part of a publication: `fetch_each` sends several
look-ups together, and `one_round_trip_transaction` sends a transaction's statements with
its BEGIN and COMMIT (psycopg pipeline mode).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection
from psycopg import sql


@functools.cache
def _select(model, where: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    fields = model._meta.concrete_fields
    query = sql.SQL("SELECT {} FROM {} WHERE {} LIMIT 1").format(
        sql.SQL(", ").join(sql.Identifier(f.column) for f in fields),
        sql.Identifier(model._meta.db_table),
        sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in where),
    )
    return query.as_string(), tuple(f.attname for f in fields)


def fetch_one(model, **where: object):
    """The instance of `model` whose columns equal `where` (at most one by a unique key), or None."""
    return fetch_each((model, where))[0]


def fetch_each(*lookups: tuple[type, dict[str, object]]) -> list:
    """For each (model, where) look-up, the instance as `fetch_one` finds it, or None; one round trip."""
    connection.ensure_connection()
    raw = connection.connection
    sent = []
    with raw.pipeline() if len(lookups) > 1 else _no_pipeline():
        for model, where in lookups:
            query, attnames = _select(model, tuple(where))
            cursor = psycopg.Cursor(raw)
            cursor.execute(query, list(where.values()), prepare=True)
            sent.append((cursor, model, attnames))
    found = []
    for cursor, model, attnames in sent:
        row = cursor.fetchone()
        cursor.close()
        found.append(None if row is None else model.from_db(connection.alias, attnames, row))
    return found


@contextmanager
def _no_pipeline() -> Iterator[None]:
    yield


@contextmanager
def one_round_trip_transaction() -> Iterator[psycopg.Connection]:
    """A transaction sent to PostgreSQL at once: BEGIN, the block's statements, COMMIT.

    Statements executed in the block on the yielded (psycopg) connection are queued and run
    in order; read their results after the block. If one fails, the error is raised at the
    end of the block and nothing is committed. For code outside Django's transactions (a
    view's single write); inside `transaction.atomic()` use that instead.
    """
    if connection.in_atomic_block:
        raise RuntimeError("one_round_trip_transaction() inside transaction.atomic(): use the atomic block")
    connection.ensure_connection()
    raw = connection.connection
    try:
        with raw.pipeline():
            raw.execute("BEGIN")
            yield raw
            raw.execute("COMMIT")
    except BaseException:
        if raw.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            raw.rollback()
        raise


def in_pipeline() -> bool:
    """Whether statements on Django's connection are being queued (one_round_trip_transaction)."""
    raw = connection.connection
    return raw is not None and raw.pgconn.pipeline_status != psycopg.pq.PipelineStatus.OFF
