"""The publication's hot path: a publication's rows written in one statement, a batch's with COPY.

Its interface: `insert_together(groups, audit_entry)` (one publication), `copy_insert(model, rows)`
and `copy_insert_new(model, rows, returning)` (a batch: COPY, the latter skipping rows a unique
constraint already holds), `stored(model, row)` (the instance of a row just stored).

Rows are dicts of column values by attribute name (`content_id`), not model instances:
profiling showed building instances (and reading them back) as a large part of a publication
and of a batch. Only `messages.services.publishing` writes through here; elsewhere the ORM is
the way. The statements run through `ebox.db` (prepared, PostgreSQL's own placeholders).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import NamedTuple

from django.utils import timezone
from psycopg import sql

from audit import services as audit
from ebox import db


@functools.cache
def _insert_statement(shape: tuple[tuple[str, int], ...], with_audit_entry: bool) -> str:
    """One statement for a whole publication: an INSERT per table as data-modifying CTEs, and the
    audit entry's append (audit.append_statement) when there is one."""
    from django.apps import apps

    parts = []
    for label, count in shape:
        model = apps.get_model(label)
        columns = [column.name for column in _columns(model)]
        row = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(columns)))
        parts.append(
            sql.SQL("INSERT INTO {} ({}) VALUES {}").format(
                sql.Identifier(model._meta.db_table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join([row] * count),
            )
        )
    # Rendered once per shape: psycopg re-rendered the Composed (~500 pieces) on every execute.
    rendered = [part.as_string() for part in parts]
    if with_audit_entry:
        return audit.append_statement(before=tuple(rendered))
    *ctes, last = rendered
    return "".join(f"{'WITH' if i == 0 else ','} t{i} AS ({cte}) " for i, cte in enumerate(ctes)) + last


class _Column(NamedTuple):
    attname: str
    name: str
    missing: Callable[[], object]  # the value when a row leaves it out (the field's default)
    to_db: Callable[[object], object] | None  # JSON and text arrays go as text


@functools.cache
def _columns(model) -> list[_Column]:
    """The columns a publication's rows fill, once per model: every concrete field but an
    auto-increment id.

    Rows are dicts of values by attribute name (`content_id`), not model instances:
    profiling the batch extension showed building instances (and reading them back) as
    ~40 % of the time per message.
    """
    from django.contrib.postgres.fields import ArrayField
    from django.db.models import CharField, JSONField, TextField

    columns = []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key and model_field.get_internal_type().endswith("AutoField"):
            continue
        if getattr(model_field, "auto_now_add", False) or getattr(model_field, "auto_now", False):
            missing = timezone.now
        elif model_field.has_default() and callable(model_field.default):
            missing = model_field.default
        else:
            missing = functools.partial(lambda value: value, model_field.get_default())
        to_db = None
        if isinstance(model_field, JSONField):
            to_db = _json_text
        elif isinstance(model_field, ArrayField) and isinstance(model_field.base_field, (CharField, TextField)):
            to_db = db.text_array
        columns.append(_Column(model_field.attname, model_field.column, missing, to_db))
    return columns


def _json_text(value: object) -> str | None:
    return None if value is None else json.dumps(value)


def _db_values(model, row: dict) -> list:
    """A row's values in `_columns` order, as sent to PostgreSQL (INSERT parameters or COPY fields)."""
    values = []
    for column in _columns(model):
        value = row[column.attname] if column.attname in row else column.missing()
        values.append(value if column.to_db is None else column.to_db(value))
    return values


def stored(model, row: dict):
    """The model instance of a row just stored (for callers that want one, like publish_message)."""
    values = {
        column.attname: row[column.attname] if column.attname in row else column.missing() for column in _columns(model)
    }
    attnames = _attnames(model)
    return db.loaded(model, attnames, [values.get(a) for a in attnames])


@functools.cache
def _attnames(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def insert_together(groups: list[tuple], audit_entry: audit.Entry | None = None) -> None:
    """Insert a publication's rows (content, attachments, message), and append its audit entry,
    in one statement.

    Profiling publishMessage showed the ORM's four INSERTs (each compiled, sent and
    answered in turn) as the largest part of a publication. This sends one statement,
    prepared once per shape and connection (psycopg `prepare=True`); values are the rows'
    exactly as for COPY (`_db_values`).
    """
    groups = [(model, rows) for model, rows in groups if rows]
    shape = tuple((model._meta.label, len(rows)) for model, rows in groups)
    params = [value for model, rows in groups for row in rows for value in _db_values(model, row)]
    if audit_entry is not None:
        params.extend(audit_entry.parameters())
    # A duplicate raises Django's IntegrityError (execute_prepared goes through Django's error wrapper).
    db.execute_prepared(_insert_statement(shape, audit_entry is not None), params)


def copy_insert(model, rows: list[dict]) -> None:
    """Insert rows with PostgreSQL COPY, in the current transaction.

    Profiling the batch extension showed Django's bulk_create spending most of its time
    building and splitting huge INSERT statements; COPY streams the rows instead (values as
    `_db_values` gives them: psycopg adapts UUIDs, dates, bytes). Auto-increment ids are left
    to the sequence.
    """
    if rows:
        columns = [column.name for column in _columns(model)]
        _copy_rows(model._meta.db_table, columns, (_db_values(model, row) for row in rows))


def copy_insert_new(model, rows: list[dict], returning: str | None = None) -> set:
    """Insert rows with COPY, skipping those a unique constraint already holds; return the values of
    column `returning` (default: the primary key's) of the rows inserted. In the current transaction.

    COPY has no ON CONFLICT: the rows are copied into a temporary table (created once per session,
    emptied at commit: no WAL, no index), then moved by one `INSERT … SELECT … ON CONFLICT DO
    NOTHING RETURNING` (no conflict target: a partial unique index, such as the Idempotency key's,
    cannot be named as a constraint; what conflicts is the caller's business key, such as
    IdempotencyKey's primary key). A row whose key a concurrent transaction is inserting waits
    for it, then is skipped if it committed: a retried chunk with the same Idempotency keys stores
    nothing twice, and no race makes the batch fail or retry.
    """
    if not rows:
        return set()
    from django.db import connection

    columns = [column.name for column in _columns(model)]
    staging = f"ebox_copy_{model._meta.db_table}"
    insert, create = _staging_statements(
        model._meta.db_table, staging, tuple(columns), returning or model._meta.pk.column
    )
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(create)
        with cursor.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(staging))) as copy:
            for row in rows:
                copy.write_row(_db_values(model, row))
        cursor.execute(insert)
        inserted = {found[0] for found in cursor.fetchall()}
        cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(staging)))
    return inserted


@functools.cache
def _staging_statements(table: str, staging: str, columns: tuple[str, ...], returning: str) -> tuple[sql.Composed, ...]:
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    insert = sql.SQL(
        "INSERT INTO {table} ({names}) SELECT {names} FROM {staging} ON CONFLICT DO NOTHING RETURNING {returning}"
    ).format(
        table=sql.Identifier(table), names=names, staging=sql.Identifier(staging), returning=sql.Identifier(returning)
    )
    # The columns the rows fill, typed as the table's, nothing else: no constraint, no index.
    create = sql.SQL(
        "CREATE TEMPORARY TABLE IF NOT EXISTS {staging} AS SELECT {names} FROM {table} WITH NO DATA"
    ).format(staging=sql.Identifier(staging), names=names, table=sql.Identifier(table))
    return insert, create


def _copy_rows(table: str, columns: list[str], rows: Iterable) -> None:
    from django.db import connection
    from psycopg import sql as pg_sql

    statement = pg_sql.SQL("COPY {} ({}) FROM STDIN").format(
        pg_sql.Identifier(table), pg_sql.SQL(", ").join(pg_sql.Identifier(c) for c in columns)
    )
    connection.ensure_connection()
    # Django's error wrapper: a duplicate is Django's IntegrityError, a dead connection is marked.
    with connection.wrap_database_errors, connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
