"""The "Sent letters" pages: list with filters, counts per type and month (chart and table), and each
letter's timeline with its evidence."""

from __future__ import annotations

import json

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from campaigns import selectors as campaign_selectors
from ebox.i18n import translate
from messages import evidence
from messages.models import Message
from messages.services import incidents, reading
from public_pages.charts import Point, bar_chart
from sender_portal import access, letters, services
from senders.models import MessageType


class FilterForm(forms.Form):
    type = forms.ChoiceField(label=_("Type of letter"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All"))] + list(Message.Status.choices)
    )
    since = forms.DateField(label=_("Sent from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Sent until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    campaign = forms.ChoiceField(label=_("Campaign"), required=False)

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].choices = [("", _("All"))] + [
            (str(c.pk), c.name) for c in campaign_selectors.campaigns_of(organisation.pk)
        ]
        self.fields["type"].choices = [("", _("All"))] + [
            (t.message_type_id, t.message_type_id) for t in MessageType.objects.filter(organisation=organisation)
        ]


@access.organisation_role_required()
@require_GET
def letter_list(request):
    form = FilterForm(request.GET or None, organisation=request.organisation)
    filters = form.cleaned_data if form.is_valid() else {}
    found = letters.sent_letters(
        request.organisation,
        message_type=filters.get("type"),
        status=filters.get("status"),
        since=filters.get("since"),
        until=filters.get("until"),
        campaign=campaign_selectors.campaign_of(request.organisation.pk, filters["campaign"])
        if filters.get("campaign")
        else None,
    )
    page = Paginator(found, 25).get_page(request.GET.get("page"))
    months, series = letters.monthly_counts(request.organisation)
    for i, item in enumerate(series):
        points = [
            Point(date_format(c["month"], "YEAR_MONTH_FORMAT"), c["n"], number_format(c["n"])) for c in item["counts"]
        ]
        item["chart"] = bar_chart(points, f"chart-{i}-caption")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "sender_portal/letters.html",
        {"form": form, "page": page, "months": months, "series": series, "query": query.urlencode()},
    )


def _letter_or_404(request, message_id) -> Message:
    try:
        return letters.letter(request.organisation, message_id)
    except Message.DoesNotExist as exc:
        raise Http404(_("No such letter of your organisation.")) from exc


@access.organisation_role_required()
@require_GET
def letter_detail(request, message_id):
    message = _letter_or_404(request, message_id)
    subject = None
    if message.sealed_at and message.status == Message.Status.SEALED:
        # The sender's own letter, checked like every reading (a failure is an incident, the subject withheld).
        try:
            subject = translate(reading.verified_text(message, detected_by="portal").subject, request.LANGUAGE_CODE)
        except incidents.IntegrityFailure:
            subject = None
    return render(
        request,
        "sender_portal/letter.html",
        {
            "message": message,
            "timeline": letters.timeline(message),
            "subject": subject,
            # The type's name in the reader's language (its identifier only when the type has no name).
            "type_name": translate(message.message_type.name, request.LANGUAGE_CODE)
            or message.message_type.message_type_id,
        },
    )


@access.organisation_role_required()
@require_GET
def letter_evidence(request, message_id):
    """The signed evidence of deposit (as the API's evidence operation gives it), to download."""
    message = _letter_or_404(request, message_id)
    kind = request.GET.get("kind", "deposit")
    try:
        document = evidence.build_evidence(message, kind if kind in evidence.KINDS else "deposit")
    except (evidence.EvidenceUnavailable, incidents.IntegrityFailure) as exc:
        return render(
            request,
            "sender_portal/letter.html",
            {"message": message, "timeline": letters.timeline(message), "evidence_error": str(exc)},
            status=409,
        )
    response = HttpResponse(json.dumps(document, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="evidence-{message.pk}.json"'
    services.record(request.civil_servant, "download_evidence", [message.pk])
    return response
