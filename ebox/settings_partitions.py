"""Settings of table partitioning: how many months ahead are created, how long partitions stay.

Part of the project's settings (ebox.settings imports every upper-case name from here); each
comes from an environment variable documented in the configuration table of docs/operators.md.
"""

import environ

env = environ.Env()  # ebox.settings has already read the .env file into the environment

# Monthly partitions created ahead of time (messages.services.partitions.ensure_partitions, beat).
EBOX_PARTITION_MONTHS_AHEAD = env.int("EBOX_PARTITION_MONTHS_AHEAD", default=3)
# A month's partitions are detached once the month ended this many months ago and every row in
# them is expired and shredded (messages) or pruned (audit): ten years by default.
EBOX_PARTITION_RETENTION_MONTHS = env.int("EBOX_PARTITION_RETENTION_MONTHS", default=120)
