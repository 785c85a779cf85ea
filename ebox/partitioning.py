"""Monthly range partitioning on PostgreSQL's declarative partitioning: month bounds and the DDL.

Shared infrastructure, app-agnostic: the apps say which tables are partitioned on which key
(`messages.partitions.FAMILY`, `audit.partitions`) and call these helpers from their migrations
and services. A partitioned table `T` has one partition per month, `T_pYYYY_MM`, and a default
partition `T_default` that catches any row outside the created months (it should stay empty:
`manage.py partitions` shows it).

Two kinds of key:
- `uuid7`: a UUIDv7 id (RFC 9562). Its first 48 bits are the Unix time in milliseconds and
  PostgreSQL compares uuids bytewise, so the month [start, end) is the id range
  [uuid7_floor(start), uuid7_floor(end)). A uuid4 lands anywhere (mostly the default partition):
  every insert path uses uuid7.
- `timestamp`: a timestamptz column, the month in UTC.

`convert_to_partitioned()` turns an existing table into a partitioned one (rename, create,
move the rows, drop the old table, recreate the primary key, unique constraints, indexes,
foreign keys in both directions and triggers from the catalog). PostgreSQL requires every
primary key and unique index of a partitioned table to contain the partition key: `primary_key`
says the new primary key's columns; a unique index that cannot contain the key is recreated by
the caller another way (see the messages migration for the idempotency key).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class PartitionedTable:
    """A table partitioned by month on `key`, of kind 'uuid7' or 'timestamp'."""

    table: str
    key: str
    kind: str
    primary_key: tuple[str, ...]
    # Storage parameters of each partition (a partitioned table itself takes none), e.g.
    # "toast_tuple_target = 8160".
    storage: str = ""


def _with(spec: PartitionedTable) -> str:
    return f" WITH ({spec.storage})" if spec.storage else ""


def month_start(value: dt.datetime | dt.date) -> dt.datetime:
    return dt.datetime(value.year, value.month, 1, tzinfo=dt.UTC)


def add_months(month: dt.datetime, count: int) -> dt.datetime:
    index = month.year * 12 + (month.month - 1) + count
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def uuid7_floor(moment: dt.datetime) -> uuid.UUID:
    """The smallest UUID whose UUIDv7 timestamp is `moment` (millisecond precision, rounded down)."""
    millis = int(moment.timestamp() * 1000)
    return uuid.UUID(f"{millis:012x}" + "0" * 20)


def uuid7_moment(value: uuid.UUID) -> dt.datetime | None:
    """The time carried by a UUIDv7, None for another version."""
    if value.version != 7:
        return None
    return dt.datetime.fromtimestamp(int(value.hex[:12], 16) / 1000, tz=dt.UTC)


def bound(spec: PartitionedTable, month: dt.datetime) -> str:
    """The SQL literal of the lower bound of `month` for this table's key."""
    if spec.kind == "uuid7":
        return f"'{uuid7_floor(month)}'"
    return f"'{month.isoformat()}'"


def partition_name(spec: PartitionedTable, month: dt.datetime) -> str:
    return f"{spec.table}_p{month.year:04d}_{month.month:02d}"


def default_name(spec: PartitionedTable) -> str:
    return f"{spec.table}_default"


def _statement_triggers(cursor, table: str) -> list[str]:
    """Statement-level triggers (TRUNCATE guards) of a table: PostgreSQL does not clone them to partitions."""
    cursor.execute(
        "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
        "AND NOT tgisinternal AND (tgtype & 1) = 0 AND (tgtype & 32) <> 0",
        [table],
    )
    return [row[1] for row in cursor.fetchall()]


def _copy_statement_triggers(cursor, spec: PartitionedTable, partition: str) -> None:
    for definition in _statement_triggers(cursor, spec.table):
        head, _on, rest = definition.partition(f" ON public.{spec.table} ")
        words = head.split()  # CREATE TRIGGER <name> BEFORE TRUNCATE
        trigger_name = f"{words[2]}_{partition.removeprefix(spec.table + '_')}"[:63]
        timing = " ".join(words[3:])
        cursor.execute(f"CREATE TRIGGER {trigger_name} {timing} ON public.{partition} {rest}")


def create_month(cursor, spec: PartitionedTable, month: dt.datetime) -> bool:
    """Create the month's partition if missing; False if it existed. The default must hold no row of it."""
    name = partition_name(spec, month)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        return False
    cursor.execute(
        f"CREATE TABLE {name} PARTITION OF {spec.table} "
        f"FOR VALUES FROM ({bound(spec, month)}) TO ({bound(spec, add_months(month, 1))}){_with(spec)}"
    )
    _copy_statement_triggers(cursor, spec, name)
    return True


def create_default(cursor, spec: PartitionedTable) -> None:
    name = default_name(spec)
    cursor.execute(f"CREATE TABLE {name} PARTITION OF {spec.table} DEFAULT{_with(spec)}")
    _copy_statement_triggers(cursor, spec, name)


def default_rows_in(cursor, spec: PartitionedTable, month: dt.datetime) -> bool:
    """Whether the default partition holds rows of `month` (creating the month would then fail)."""
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {default_name(spec)} WHERE {spec.key} >= {bound(spec, month)} "  # noqa: S608
        f"AND {spec.key} < {bound(spec, add_months(month, 1))})"
    )
    return cursor.fetchone()[0]


def oldest_month(cursor, spec: PartitionedTable, table: str | None = None) -> dt.datetime | None:
    """The month of the oldest row (UUIDv7 rows only for a uuid7 key), None when there is none."""
    table = table or spec.table
    if spec.kind == "uuid7":
        cursor.execute(
            f"SELECT {spec.key} FROM {table} WHERE substr({spec.key}::text, 15, 1) = '7' ORDER BY 1 LIMIT 1"  # noqa: S608
        )
        row = cursor.fetchone()
        value = row[0] if row else None
        moment = uuid7_moment(value) if value else None
    else:
        cursor.execute(f"SELECT min({spec.key}) FROM {table}")  # noqa: S608
        moment = cursor.fetchone()[0]
    return month_start(moment) if moment else None


def list_partitions(cursor, table: str) -> list[tuple[str, str]]:
    """(name, bound expression) of each partition attached to `table`, in name order."""
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass ORDER BY c.relname",
        [table],
    )
    return list(cursor.fetchall())


def convert_to_partitioned(
    cursor, spec: PartitionedTable, months: list[dt.datetime], leave_out: tuple[str, ...] = ()
) -> None:
    """Turn `spec.table` into a table partitioned by month (see the module docstring).

    `leave_out`: indexes not recreated (a unique index without the key, which the caller replaces).

    Runs inside the migration's transaction: the rows move in one INSERT … SELECT, which takes
    the time of a copy of the table (minutes per ten million rows); plan a maintenance window.
    """
    table = spec.table
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid = %s::regclass AND conparentid = 0",
        [table],
    )
    incoming = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = %s::regclass AND confrelid <> conrelid AND conparentid = 0",
        [table],
    )
    outgoing = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid), conindid FROM pg_constraint "
        "WHERE contype = 'u' AND conrelid = %s::regclass",
        [table],
    )
    uniques = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
        [table],
    )
    triggers = [row[0] for row in cursor.fetchall()]
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    has_sequence = cursor.fetchone()[0] is not None

    for referencing, name, _definition in incoming:
        cursor.execute(f"ALTER TABLE {referencing} DROP CONSTRAINT {name}")
    old = f"{table}__unpartitioned"
    cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
    cursor.execute(
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS "
        f"INCLUDING STORAGE INCLUDING COMPRESSION) PARTITION BY RANGE ({spec.key})"
    )
    for month in months:
        create_month(cursor, spec, month)
    create_default(cursor, spec)
    cursor.execute(f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM {old}")  # noqa: S608
    if has_sequence:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"  # noqa: S608
        )
    cursor.execute(f"DROP TABLE {old}")
    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({', '.join(spec.primary_key)})")
    for name, definition, _index in uniques:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for name, definition in indexes:
        if name not in leave_out:
            cursor.execute(definition)
    for name, definition in outgoing:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for referencing, name, definition in incoming:
        cursor.execute(f"ALTER TABLE {referencing} ADD CONSTRAINT {name} {definition}")
    for definition in triggers:
        cursor.execute(definition)
    # The statement-level triggers now exist on the parent: give the partitions theirs.
    for partition, _bound in list_partitions(cursor, table):
        _copy_statement_triggers(cursor, spec, partition)
