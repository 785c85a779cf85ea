"""Prepared look-ups for the hot paths (publication): one model row by a few columns, planned once.

Profiling publishMessage showed the ORM spending more time compiling a simple
`filter(...).first()` than PostgreSQL spent running it; these statements are rendered
once per process and prepared once per connection (psycopg `prepare=True`).
"""

from __future__ import annotations

import functools

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
    query, attnames = _select(model, tuple(where))
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        row = cursor.execute(query, list(where.values()), prepare=True).fetchone()
    return None if row is None else model.from_db(connection.alias, attnames, row)
