"""Settings of the paper service: where print runs are written and how large they are.

Part of the project's settings (ebox.settings imports every upper-case name from here); each
comes from an environment variable documented in the configuration table of docs/operators.md.
"""

import environ

env = environ.Env()  # ebox.settings has already read the .env file into the environment

# Folder shared with the print provider: beat writes print runs here and picks up `<batch>.ack`
# files from it. Empty: `<EBOX_DATA_DIR>/print`.
EBOX_PRINT_OUT_DIR = env.str("EBOX_PRINT_OUT_DIR", default="")
# At most this many letters per print run (the next run takes the rest).
EBOX_PRINT_BATCH_MAX = env.int("EBOX_PRINT_BATCH_MAX", default=1000)
