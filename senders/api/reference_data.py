"""Reference data of the 2.1 API: message types, sender applications and organisations (paged lists and
items) and the organisations' logos. Sender tokens read it, and so do partner apps' and enterprises'
clients (with `ebox.read`: ReaderTokenAuthentication)."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.response import Response

from senders import selectors
from senders.api import docs
from senders.api.authentication import ReaderTokenAuthentication
from senders.api.base import SenderAPIView, paging
from senders.api.errors import ApiError


def _paged(request, queryset, render) -> Response:
    page, size = paging(request)
    total = queryset.count()
    rows = list(queryset[(page - 1) * size : page * size])
    return Response({"items": [render(r) for r in rows], "totalItems": total})


def render_message_type(t) -> dict:
    return {
        "messageTypeId": t.message_type_id,
        "messageTypeName": t.name,
        "messageTypeDescription": t.description or {},
        "validityPeriod": {"validityPeriodNumber": t.validity_number, "validityPeriodUnit": t.validity_unit},
        "senderOrganizationIds": [t.organisation.enterprise_number],
        "senderApplicationIds": [a.application_id for a in t.organisation.applications.all()],
    }


def render_sender_application(a) -> dict:
    out = {
        "applicationId": a.application_id,
        "applicationName": a.name,
        "applicationDescription": a.description or {},
        "senderOrganizationIds": [a.organisation.enterprise_number],
        "messageTypeIds": [t.message_type_id for t in a.organisation.message_types.all()],
    }
    if a.contact_technical:
        out["contactTechnical"] = a.contact_technical
    return out


def render_sender_organisation(o) -> dict:
    out = {
        "organizationId": o.enterprise_number,
        "organizationShortName": o.short_name,
        "organizationLongName": o.long_name or {},
        "senderApplicationIds": [a.application_id for a in o.applications.all()],
        "messageTypeIds": [t.message_type_id for t in o.message_types.all()],
    }
    if o.website:
        out["organizationUrl"] = o.website
    if o.contact_business:
        out["contactBusiness"] = o.contact_business
    if o.contact_technical:
        out["contactTechnical"] = o.contact_technical
    return out


class ReferenceDataView(SenderAPIView):
    authentication_classes = [ReaderTokenAuthentication]
    required_scope = "referencedata"


class MessageTypesView(ReferenceDataView):
    @docs.message_types
    def get(self, request):
        return _paged(request, selectors.message_types(), render_message_type)


class MessageTypeView(ReferenceDataView):
    @docs.message_type
    def get(self, request, **kwargs):
        t = selectors.message_types().filter(message_type_id=kwargs["messageTypeId"]).first()
        if t is None:
            raise ApiError(404, f"messageTypeId {kwargs['messageTypeId']} not found")
        return Response(render_message_type(t))


class SenderApplicationsView(ReferenceDataView):
    @docs.sender_applications
    def get(self, request):
        return _paged(request, selectors.sender_applications(), render_sender_application)


class SenderApplicationView(ReferenceDataView):
    @docs.sender_application
    def get(self, request, **kwargs):
        a = selectors.sender_applications().filter(application_id=kwargs["senderApplicationId"]).first()
        if a is None:
            raise ApiError(404, f"senderApplicationId {kwargs['senderApplicationId']} not found")
        return Response(render_sender_application(a))


class SenderOrganisationsView(ReferenceDataView):
    @docs.sender_organisations
    def get(self, request):
        return _paged(request, selectors.sender_organisations(), render_sender_organisation)


class SenderOrganisationView(ReferenceDataView):
    @docs.sender_organisation
    def get(self, request, **kwargs):
        o = selectors.sender_organisations().filter(enterprise_number=kwargs["senderOrganizationId"]).first()
        if o is None:
            raise ApiError(404, f"senderOrganizationId {kwargs['senderOrganizationId']} not found")
        return Response(render_sender_organisation(o))


def _image(organisation, image_id: str) -> HttpResponse:
    found = selectors.organisation_logo(organisation) if image_id == selectors.LOGO_IMAGE_ID else None
    if found is None:
        raise ApiError(404, f"image {image_id} not found")
    data, media_type = found
    response = HttpResponse(data, content_type=media_type)
    response["Content-Length"] = str(len(data))
    response["Content-Disposition"] = f'inline; filename="logo.{media_type.split("/")[1].split("+")[0]}"'
    # An SVG opened on its own runs no script and loads nothing.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


class SenderOrganisationImageView(ReferenceDataView):
    @docs.organisation_image
    def get(self, request, **kwargs):
        o = selectors.sender_organisations().filter(enterprise_number=kwargs["senderOrganizationId"]).first()
        if o is None:
            raise ApiError(404, f"senderOrganizationId {kwargs['senderOrganizationId']} not found")
        return _image(o, kwargs["imageId"])


class SenderApplicationImageView(ReferenceDataView):
    @docs.application_image
    def get(self, request, **kwargs):
        a = selectors.sender_applications().filter(application_id=kwargs["senderApplicationId"]).first()
        if a is None:
            raise ApiError(404, f"senderApplicationId {kwargs['senderApplicationId']} not found")
        return _image(a.organisation, kwargs["imageId"])
