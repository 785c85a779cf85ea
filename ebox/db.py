"""Database access for the hot path of a publication, and nothing else: prepared look-ups, fewer round trips.

What it is for. Profiling publishMessage showed the ORM spending more time compiling a simple
`filter(...).first()` than PostgreSQL spent running it, and round trips to PostgreSQL as a
large part of a publication (each statement sent and answered costs both processes CPU, not
only waiting). So the few statements on that path are rendered once per process and prepared
once per connection (psycopg `prepare=True`, PostgreSQL's `$n` placeholders on a RawCursor).

Its interface, kept narrow:

- `fetch_one(model, **where)` / `fetch_each(*lookups)`: instances found by a unique key, several
  look-ups in one statement (the token, the message type and the recipient of a publication);
- `execute_prepared(query, params)`: run one hot statement (the publication's insert,
  messages.services.rows; the audit append); `execute_prepared_rows(query, params)`: the same
  with named parameters and all rows (the notification sender's per-chunk statement);
- `loaded(model, attnames, values)`: the instance of a row just read or stored, without `from_db`'s cost;
- `text_array(values)`: a text-array parameter, without psycopg's per-call inspection.

Elsewhere the ORM is the way: a query earns a place here only when a profile of a hot path
shows the ORM's own cost. The other raw paths are few and say why where they are (COPY for a
batch in messages.services.rows, the sealer's pipeline in messages.services.sealing).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

import psycopg
from django.db import OperationalError, connection
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from psycopg import sql


@functools.cache
def _select(lookups: tuple[tuple[type, tuple[str, ...]], ...]) -> tuple[str, list[tuple[type, list[str]]]]:
    """One statement for several look-ups: each model LEFT JOINed on its own condition to a single row."""
    columns, joins, shapes = [], [], []
    for i, (model, where) in enumerate(lookups):
        alias = f"t{i}"
        fields = model._meta.concrete_fields
        columns += [sql.Identifier(alias, f.column) for f in fields]
        condition = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(alias, c)) for c in where)
        joins.append(
            sql.SQL("LEFT JOIN {} AS {} ON {}").format(
                sql.Identifier(model._meta.db_table), sql.Identifier(alias), condition
            )
        )
        shapes.append((model, [f.attname for f in fields]))
    query = sql.SQL("SELECT {} FROM (SELECT) AS one {}").format(sql.SQL(", ").join(columns), sql.SQL(" ").join(joins))
    return query.as_string(), shapes


def execute_prepared(query: str, params: Sequence[object]) -> tuple | None:
    """Run a hot statement (`%s` placeholders) on Django's connection, prepared once per connection;
    return its first row (None when it returns none).

    It uses PostgreSQL's native `$n` placeholders (psycopg's RawCursor): psycopg re-parses a
    `%s` statement with over 50 parameters on every call (its cache stops there), which
    profiling showed as ~10 % of a publication with an attachment. One cursor per connection
    serves every call (a new cursor cost ~7 µs: its adapters are set up afresh).
    """
    try:
        return _execute_prepared(query, params)
    except OperationalError:
        # A connection that died while idle (a PostgreSQL restart) fails on its first use: Django's
        # own cursors health-check a reused connection first, this path does not (a round trip per
        # call). Outside a transaction nothing was done on it, so reconnect once and run it again.
        if connection.in_atomic_block or connection.is_usable():
            raise
        connection.close()
        return _execute_prepared(query, params)


def _execute_prepared(query: str, params: Sequence[object]) -> tuple | None:
    cursor = _hot_cursor()
    # Django's error wrapper, as its own cursors have: psycopg errors become Django's, and a
    # connection error marks the connection, so Django closes it at the end of the request
    # (close_if_unusable_or_obsolete) and the next request reconnects. Without it a connection
    # that died with a PostgreSQL restart was reused until CONN_MAX_AGE ran out.
    with connection.wrap_database_errors:
        cursor.execute(_numbered(query), params, prepare=True)
        # Not `cursor.description`: it builds an object per column on every call.
        returns_rows = cursor.pgresult is not None and cursor.pgresult.status == psycopg.pq.ExecStatus.TUPLES_OK
        return cursor.fetchone() if returns_rows else None


def execute_prepared_rows(query: str, params: Mapping[str, object]) -> list[tuple]:
    """Run a hot statement with `%(name)s` placeholders, prepared once per connection; return all
    its rows. For a statement whose planning costs more than its run (the notification sender's
    per-chunk statement: ~2 ms to plan its CTEs over partitioned tables, for 20 e-mails).

    No reconnect here: its callers (messages.notifications.sending) handle a lost connection.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, params, prepare=True)
        returns_rows = cursor.pgresult is not None and cursor.pgresult.status == psycopg.pq.ExecStatus.TUPLES_OK
        return cursor.fetchall() if returns_rows else []


def _hot_cursor() -> psycopg.RawCursor:
    connection.ensure_connection()
    raw = connection.connection
    cursor = getattr(connection, "ebox_hot_cursor", None)  # on this thread's connection wrapper
    if cursor is None or cursor.closed or cursor.connection is not raw:
        cursor = psycopg.RawCursor(raw)
        connection.ebox_hot_cursor = cursor
    return cursor


@functools.lru_cache(maxsize=256)
def _numbered(query: str) -> str:
    pieces = query.split("%s")
    if any("%" in piece for piece in pieces):
        raise ValueError("execute_prepared() takes %s placeholders only (no other %)")
    return "".join(f"{piece}${n}" for n, piece in enumerate(pieces[:-1], start=1)) + pieces[-1]


def loaded(model, attnames: Sequence[str], values: Sequence[object]):
    """The instance of a row just read (or stored), as `model.from_db` makes it, without `Model.__init__`.

    Profiling publishMessage showed `from_db` at ~15 µs per instance (a descriptor call per
    field, the init signals), with five instances per publication. A row of every concrete
    field, of a model without init-signal receivers nor its own `__init__`/`from_db`, needs
    neither: its values go straight to the instance's `__dict__`. Anything else goes through
    `from_db`.
    """
    if (
        len(values) != len(model._meta.concrete_fields)
        or model.__init__ is not Model.__init__
        or model.from_db.__func__ is not Model.from_db.__func__
        or pre_init.has_listeners(model)
        or post_init.has_listeners(model)
    ):
        return model.from_db(connection.alias, attnames, values)
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def text_array(values: Iterable[str] | None) -> str | None:
    """A PostgreSQL array literal of texts, to send for an array column (as an untyped parameter,
    or a COPY field). psycopg adapts a Python list by inspecting its items on every call, which
    showed in the publication's profile."""
    if values is None:
        return None
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def fetch_one(model, **where: object):
    """The instance of `model` whose columns equal `where` (at most one by a unique key), or None."""
    return fetch_each((model, where))[0]


def fetch_each(*lookups: tuple[type, dict[str, object]]) -> list:
    """For each (model, where) look-up, the instance as `fetch_one` finds it, or None: one statement.

    `where` must name a unique key (each look-up finds at most one row).
    """
    query, shapes = _select(tuple((model, tuple(where)) for model, where in lookups))
    row = execute_prepared(query, [v for _, where in lookups for v in where.values()])
    found, start = [], 0
    for model, attnames in shapes:
        values = row[start : start + len(attnames)]
        start += len(attnames)
        primary_key = values[attnames.index(model._meta.pk.attname)]
        found.append(None if primary_key is None else loaded(model, attnames, values))
    return found
