"""Errors of the attachment storage that every layer shares (the apps raise, the API answers)."""


class StorageUnavailable(Exception):
    """The attachment storage could not store a blob (disk full, quota, a storage backend error).

    Whatever was partly written is removed before this is raised; callers answer "try again
    later" (the API: 503 with Retry-After) and remove the blobs they wrote before."""
