"""Settings of where encrypted attachment blobs live: small ones in PostgreSQL, the others in storage.

Part of the project's settings (ebox.settings imports every upper-case name from here); each
comes from an environment variable documented in the configuration table of docs/operators.md.
"""

import environ

env = environ.Env()  # ebox.settings has already read the .env file into the environment

# Encrypted blobs up to this many bytes are stored in PostgreSQL (messages.blobs, table
# mailbox_blob), written in the publication's own transaction, instead of one file or object
# each: a campaign of 2 kB letters wrote 300,000 files (bench/campaign.py). 0 stores every blob
# in the attachment storage. The default is 64 KiB on the filesystem and 0 with a bucket
# (AWS_STORAGE_BUCKET_NAME), where an operator may raise it too.
EBOX_DATABASE_BLOB_MAX_BYTES = env.int(
    "EBOX_DATABASE_BLOB_MAX_BYTES", default=0 if env.str("AWS_STORAGE_BUCKET_NAME", default="") else 64 * 1024
)
