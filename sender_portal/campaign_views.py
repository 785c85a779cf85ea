"""The campaign pages of the sender portal: the list and upload form, the template CSV, a campaign's
page (send, cancel, a live progress bar), its progress as JSON for the page's script, its report (CSV).

Every state change is campaigns.services' (upload: every row through the API's validator; sending:
the batch service from a Celery task); these views only translate forms and answers.
"""

from __future__ import annotations

import csv

from django import forms
from django.conf import settings
from django.contrib import messages as notices
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import rows as row_format
from campaigns import selectors
from campaigns.models import Campaign
from campaigns.services import sending as campaign_sending
from campaigns.services import uploading
from ebox.i18n import translate
from ebox.uploads import BoundedUploadHandler
from sender_portal import access
from sender_portal.services.sending import SENDING_ROLES, portal_application
from senders.models import MessageType


class CampaignUploadHandler(BoundedUploadHandler):
    """A campaign's spreadsheet and ZIP may be larger than a form's PDF (EBOX_CAMPAIGN_MAX_UPLOAD_BYTES)."""

    def limit(self) -> int:
        return settings.EBOX_CAMPAIGN_MAX_UPLOAD_BYTES


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the campaign"), max_length=200, required=False)
    message_type = forms.ChoiceField(label=gettext_lazy("Type of letter"))
    spreadsheet = forms.FileField(
        label=gettext_lazy("Spreadsheet (CSV or XLSX)"),
        help_text=gettext_lazy("One row per letter; the first row names the columns."),
    )
    documents = forms.FileField(
        label=gettext_lazy("ZIP of the PDFs (optional)"),
        required=False,
        help_text=gettext_lazy("The pdf column names a file of this ZIP for each row."),
    )

    def __init__(self, *args, organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.types = {t.message_type_id: t for t in MessageType.objects.filter(organisation=organisation)}
        self.fields["message_type"].choices = [(k, translate(t.name)) for k, t in self.types.items()]
        self.fields["spreadsheet"].widget.attrs["accept"] = ".csv,.xlsx"
        self.fields["documents"].widget.attrs["accept"] = ".zip"


def _campaign(request, campaign_id) -> Campaign:
    campaign = selectors.campaign_of(request.organisation.pk, campaign_id)
    if campaign is None:
        raise Http404(_("No such campaign of your organisation."))
    return campaign


@csrf_exempt  # checked below, once the larger upload handler is in place
@access.organisation_role_required()
def campaign_list(request):
    if request.method == "POST":
        if not request.civil_servant.has(*SENDING_ROLES):
            raise PermissionDenied
        # Before the body is read (the CSRF check reads it): the campaign's own size limit.
        request.upload_handlers = [CampaignUploadHandler(request)] + [
            h for h in request.upload_handlers if not isinstance(h, BoundedUploadHandler)
        ]
    return _campaign_list(request)


@csrf_protect
@require_http_methods(["GET", "POST"])
def _campaign_list(request):
    form = CampaignForm(request.POST or None, request.FILES or None, organisation=request.organisation)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        spreadsheet, documents = data["spreadsheet"], data["documents"]
        try:
            campaign = uploading.upload_campaign(
                sender_application=portal_application(request.organisation),
                message_type=form.types[data["message_type"]],
                name=data["name"],
                spreadsheet=spreadsheet,
                spreadsheet_name=spreadsheet.name,
                documents=documents,
                created_by=request.civil_servant.person,
                actor=request.civil_servant.actor,
            )
        except uploading.CampaignRefused as exc:
            form.add_error(exc.field, str(exc))
        else:
            request.audit_recorded = True  # the upload's own entry names the civil servant and role
            notices.success(
                request, _("The files are received. Their rows are being checked: this page shows how far.")
            )
            return redirect("sender_portal:campaign", campaign.pk)
    request.audit_recorded = True  # a refused upload stores nothing and changes nothing
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "campaigns": selectors.campaigns_of(request.organisation.pk)[:50],
        "can_send": request.civil_servant.has(*SENDING_ROLES),
    }
    return render(request, "sender_portal/campaigns.html", context, status=status)


@access.organisation_role_required()
@require_GET
def campaign_template(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="campaign-template.csv"'
    response.write("\ufeff")  # spreadsheet programs read the BOM as UTF-8
    writer = csv.writer(response, delimiter=";")
    writer.writerow(row_format.TEMPLATE_COLUMNS)
    writer.writerow(row_format.TEMPLATE_EXAMPLE)
    return response


@access.organisation_role_required()
@require_GET
def campaign_detail(request, campaign_id):
    campaign = _campaign(request, campaign_id)
    context = {
        "campaign": campaign,
        "progress": selectors.progress(campaign),
        "errors": selectors.cell_errors(campaign) if campaign.status == Campaign.Status.INVALID else [],
        "can_send": request.civil_servant.has(*SENDING_ROLES),
    }
    return render(request, "sender_portal/campaign.html", context)


@access.organisation_role_required()
@require_GET
def campaign_progress(request, campaign_id):
    campaign = _campaign(request, campaign_id)
    progress = selectors.progress(campaign)
    return JsonResponse(dict(progress.as_dict(), percent=progress.percent, status_label=campaign.get_status_display()))


@access.organisation_role_required(*SENDING_ROLES)
@require_POST
def campaign_send(request, campaign_id):
    campaign = _campaign(request, campaign_id)
    try:
        campaign_sending.start_sending(campaign, actor=request.civil_servant.actor)
    except campaign_sending.NotAllowed:
        notices.error(request, _("This campaign cannot be sent: it is already sent or cancelled."))
    else:
        notices.success(request, _("Sending has started. This page shows the progress."))
    request.audit_recorded = True
    return redirect("sender_portal:campaign", campaign.pk)


@access.organisation_role_required(*SENDING_ROLES)
@require_POST
def campaign_cancel(request, campaign_id):
    campaign = _campaign(request, campaign_id)
    try:
        campaign_sending.cancel_campaign(campaign, actor=request.civil_servant.actor)
    except campaign_sending.NotAllowed:
        notices.error(request, _("This campaign cannot be cancelled: it is already sent or cancelled."))
    else:
        notices.success(request, _("The campaign is cancelled: no further letter of it will be sent."))
    request.audit_recorded = True
    return redirect("sender_portal:campaign", campaign.pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


@access.organisation_role_required()
@require_GET
def campaign_report(request, campaign_id):
    campaign = _campaign(request, campaign_id)
    request.audit_ids.append(str(campaign.pk))  # downloading who received what is recorded
    writer = csv.writer(_Echo())
    header = [_("row"), _("recipient"), _("message id"), _("channel"), _("status"), _("error")]

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for row in selectors.report_rows(campaign):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-report.csv"'
    return response
