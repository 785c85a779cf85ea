"""Reference data of the sender API: message types, sender applications and organisations (paged lists and items)."""

from __future__ import annotations

from rest_framework.response import Response

from senders import selectors
from senders.api import docs
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


class MessageTypesView(SenderAPIView):
    required_scope = "referencedata"

    @docs.message_types
    def get(self, request):
        return _paged(request, selectors.message_types(), render_message_type)


class MessageTypeView(SenderAPIView):
    required_scope = "referencedata"

    @docs.message_type
    def get(self, request, **kwargs):
        t = selectors.message_types().filter(message_type_id=kwargs["messageTypeId"]).first()
        if t is None:
            raise ApiError(404, f"messageTypeId {kwargs['messageTypeId']} not found")
        return Response(render_message_type(t))


class SenderApplicationsView(SenderAPIView):
    required_scope = "referencedata"

    @docs.sender_applications
    def get(self, request):
        return _paged(request, selectors.sender_applications(), render_sender_application)


class SenderApplicationView(SenderAPIView):
    required_scope = "referencedata"

    @docs.sender_application
    def get(self, request, **kwargs):
        a = selectors.sender_applications().filter(application_id=kwargs["senderApplicationId"]).first()
        if a is None:
            raise ApiError(404, f"senderApplicationId {kwargs['senderApplicationId']} not found")
        return Response(render_sender_application(a))


class SenderOrganisationsView(SenderAPIView):
    required_scope = "referencedata"

    @docs.sender_organisations
    def get(self, request):
        return _paged(request, selectors.sender_organisations(), render_sender_organisation)


class SenderOrganisationView(SenderAPIView):
    required_scope = "referencedata"

    @docs.sender_organisation
    def get(self, request, **kwargs):
        o = selectors.sender_organisations().filter(enterprise_number=kwargs["senderOrganizationId"]).first()
        if o is None:
            raise ApiError(404, f"senderOrganizationId {kwargs['senderOrganizationId']} not found")
        return Response(render_sender_organisation(o))
