"""Plain views of the trust layer: the JWKS, and a citizen's evidence download."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from citizens import services as citizen_services
from mandates import selectors as mandate_selectors
from messages import evidence, signing
from messages.models import Message
from messages.services import incidents


@require_GET
def jwks(request):
    """The platform's seal keys (earlier, current and announced ones, with their periods), as a JWK Set."""
    response = JsonResponse(signing.jwks())
    # A seal key announced by rotate_keys --seal signs only after this lifetime (messages.signing).
    patch_cache_control(response, public=True, max_age=settings.EBOX_JWKS_MAX_AGE_SECONDS)
    return response


@login_required
@require_GET
def citizen_evidence(request, message_id):
    """The signed evidence of a message, for the citizen it is addressed to (404 for anyone else)."""
    access = mandate_selectors.current_access(request)  # the current eBox, mandates checked now
    citizen = access.mailbox if access else None
    message = (
        Message.objects.select_related(
            "content", "sender_organisation", "sender_application", "message_type", "citizen"
        )
        .filter(id=message_id, citizen=citizen, status=Message.Status.SEALED)
        .first()
        if citizen is not None
        else None
    )
    if message is None:
        raise Http404("no such message")
    kind = request.GET.get("kind", "deposit")
    try:
        document = evidence.build_evidence(message, kind, reader=citizen)
    except evidence.EvidenceUnavailable as exc:
        raise Http404(str(exc))
    except incidents.IntegrityFailure:
        # A citizen's browser shows this, so it is in their language.
        message_text = gettext("This message failed its integrity check; the operators have been alerted.")
        return JsonResponse({"error": message_text}, status=409, json_dumps_params={"ensure_ascii": False})
    request.audit_ids.append(str(message.id))
    if access.mandate is not None:  # a representative's read is in the owner's access log
        citizen_services.log_access(citizen, message, "evidence", mandate=access.mandate)
    response = JsonResponse(document, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="ebox-evidence-{message.id}-{kind}.json"'
    return response
