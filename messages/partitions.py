"""Which tables grow with the messages and how they are partitioned by month; id ranges for time ranges.

Contents, messages and attachments are partitioned on UUIDv7 ids (their own id, an attachment on
its content's id), events and retained seals on their message's id, so a row lands in the month
its message (or content) was created and every foreign key between them stays a plain one to a
key that contains the partition key. Notification e-mails are partitioned on their window's
start. Database blobs (small attachment ciphertexts) are partitioned on their id, their
attachment's UUIDv7. (The audit trail, on its entries' time, is `audit.partitions`.)

Why ids rather than `received_at`: the primary key of a partitioned table must contain the
partition key, and every foreign key to a message names its id alone; partitioning on the id
keeps `mailbox_message.id` the single-column primary key Django and the eleven tables pointing
at it use, and lookups by id (sealing, `searchMessageStatus`, the integrity sweep, evidence)
prune to one partition without knowing the time. A query by time gets the matching id range
from `id_range_for()`.
"""

from __future__ import annotations

import datetime as dt
import uuid

from ebox.partitioning import PartitionedTable, uuid7_floor

CONTENTS = PartitionedTable("mailbox_messagecontent", "id", "uuid7", ("id",))
MESSAGES = PartitionedTable("mailbox_message", "id", "uuid7", ("id",))
ATTACHMENTS = PartitionedTable("mailbox_attachment", "content_id", "uuid7", ("id", "content_id"))
EVENTS = PartitionedTable("mailbox_messageevent", "message_id", "uuid7", ("id", "message_id"))
RETAINED_SEALS = PartitionedTable("mailbox_retainedseal", "message_id", "uuid7", ("id", "message_id"))
# A blob's id is its attachment's UUIDv7 (messages.blobs); its rows stay in the page as written
# (toast_tuple_target, as migration 0005_blob set on the plain table).
BLOBS = PartitionedTable("mailbox_blob", "id", "uuid7", ("id",), "toast_tuple_target = 8160")
NOTIFICATIONS = PartitionedTable("mailbox_emailnotification", "window_start", "timestamp", ("id", "window_start"))

# In the order a month is detached (rows that point at others first) and created (any order).
FAMILY = (EVENTS, RETAINED_SEALS, ATTACHMENTS, MESSAGES, CONTENTS, BLOBS)


def id_range_for(start: dt.datetime, end: dt.datetime) -> tuple[uuid.UUID, uuid.UUID]:
    """The UUIDv7 range [low, high) of the rows created in [start, end): add `id >= low AND id < high`
    to a query by time so PostgreSQL prunes the partitions outside it."""
    return uuid7_floor(start), uuid7_floor(end)
