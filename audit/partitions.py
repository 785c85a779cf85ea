"""The audit trail is partitioned by month on its entries' time (`at`); see ebox.partitioning.

Entries are appended in time order, so a month's partition fills and then only shrinks when
`audit.retention.prune()` deletes a prefix of the chain behind a signed `AuditPrune` record.
A month's partition is dropped (`messages.services.partitions`) only once it is empty and its
whole range lies before the newest signed prune's cutoff: removing entries keeps exactly one
path, the signed prune, and dropping the partition afterwards removes only an empty table.
"""

from __future__ import annotations

from ebox.partitioning import PartitionedTable

AUDIT_ENTRIES = PartitionedTable("audit_auditentry", "at", "timestamp", ("id", "at"))
