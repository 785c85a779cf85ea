"""The public list of signed audit checkpoints, for third parties to keep (a copy outside eBox)."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from audit.anchors import anchor_json
from audit.models import AuditCheckpoint
from audit.services import timestamp

PAGE = 1000


@require_GET
def checkpoints(request):
    """Signed chain heads in id order from `?after=<checkpoint id>`, at most 1000 a page.

    Each item is what the anchor file holds; the signature is Ed25519 (kid in /.well-known/jwks.json)
    over the RFC 8785 form of {"type": "ebox-audit-checkpoint", "entryId", "entryHash", "signedAt"}.
    Entry hashes say nothing about the entries; a keeper who later sees a different hash for an
    entry id it holds knows the chain was rewritten.
    """
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        return JsonResponse({"error": "after must be a checkpoint id (an integer)"}, status=400)
    rows = list(AuditCheckpoint.objects.filter(id__gt=after).order_by("id")[:PAGE])
    items = [anchor_json(c, timestamp(c.signed_at)) for c in rows]
    body = {"checkpoints": items}
    if len(rows) == PAGE:
        body["next"] = f"{request.path}?after={rows[-1].pk}"
    response = JsonResponse(body)
    patch_cache_control(response, public=True, max_age=60)
    return response
