"""Settings of campaigns (a spreadsheet and a ZIP of PDFs sent from the sender portal).

Part of the project's settings (ebox.settings imports every upper-case name from here); each
comes from an environment variable documented in the configuration table of docs/operators.md.
"""

import environ

env = environ.Env()  # ebox.settings has already read the .env file into the environment

# Rows (recipients) in one campaign's spreadsheet.
EBOX_CAMPAIGN_MAX_ROWS = env.int("EBOX_CAMPAIGN_MAX_ROWS", default=100_000)
# Bytes of one campaign upload (the spreadsheet and the ZIP together), refused while it streams.
EBOX_CAMPAIGN_MAX_UPLOAD_BYTES = env.int("EBOX_CAMPAIGN_MAX_UPLOAD_BYTES", default=1024 * 1024 * 1024)
# The ZIP of PDFs: at most this many files and this many bytes once uncompressed (zip bombs).
EBOX_CAMPAIGN_MAX_FILES = env.int("EBOX_CAMPAIGN_MAX_FILES", default=100_000)
EBOX_CAMPAIGN_MAX_UNCOMPRESSED_BYTES = env.int("EBOX_CAMPAIGN_MAX_UNCOMPRESSED_BYTES", default=2 * 1024 * 1024 * 1024)
# Rows published per transaction by the sending task (one batch of the batch service).
EBOX_CAMPAIGN_CHUNK_ROWS = env.int("EBOX_CAMPAIGN_CHUNK_ROWS", default=200)
# Rows checked per transaction by the validation task (what a killed worker checks again).
EBOX_CAMPAIGN_CHECK_CHUNK_ROWS = env.int("EBOX_CAMPAIGN_CHECK_CHUNK_ROWS", default=2000)
