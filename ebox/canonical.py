"""The RFC 8785 (JCS) canonical JSON form of the documents the platform hashes and signs.

Shared infrastructure: message seals (`messages.signing`) and the audit chain (`audit.services`)
both hash or sign this form, so it lives here rather than in either app.
"""

from __future__ import annotations

import json


def canonical(document: dict) -> bytes:
    """The RFC 8785 (JCS) canonical form of a document the platform signs.

    Platform documents hold only objects with ASCII keys, arrays, strings, integers, booleans
    and null (ids, times, digests, sizes; free-form payment and business data enter only as
    digests). For those values JSON with sorted keys, no whitespace and no ASCII escaping is
    byte for byte RFC 8785, at a tenth of the cost of the general `rfc8785` package, which
    sealing throughput needs. Floats, whose RFC 8785 form differs, must not appear.
    """
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
