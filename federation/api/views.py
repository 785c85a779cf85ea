"""Federation 1.3: `PATCH /eboxPreferences` (an enterprise's own choice, through its own client) and
the message providers registry (`GET /messageProviders`, `GET|PATCH /messageProviders/{id}`).

`POST /eboxPreferences/search` is the sender API's view (senders.api.searches), routed here too.
Views translate HTTP; the rules are in federation.services.
"""

from __future__ import annotations

from django.urls import reverse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from citizens.api.views import MergePatchJSONParser
from citizens.selectors import available_messages
from ebox.safe_input import SafeJSONParser
from federation import selectors, services
from federation.api import docs
from federation.api.access import AnyClient, EnterpriseClient
from federation.models import MessageProvider
from senders.api import docs as sender_docs
from senders.api.base import timestamp
from senders.api.errors import ApiError
from senders.api.searches import EboxPreferencesSearchView


def refused(exc: services.Refused) -> ApiError:
    return ApiError(exc.status, exc.message, exc.details)


class FederationErrors:
    """Errors as federation 1.3's StatusMessage: its `Detail` types every field as an object, so the
    faulty fields our `details` would list are named in `message` instead, and `details` is left out."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        data = getattr(response, "data", None)
        if isinstance(data, dict) and data.get("details"):
            fields = "; ".join(f"{d.get('ref')}: {d.get('message')}" for d in data.pop("details"))
            data["message"] = f"{data.get('message')} ({fields})"
        return response


class PreferencesSearchView(FederationErrors, EboxPreferencesSearchView):
    """`POST /eboxPreferences/search`: the sender API's view, with federation errors."""

    @docs.preferences_search
    @sender_docs.ebox_preferences
    def post(self, request):
        return super().post(request)


def preferences_json(mailbox) -> dict:
    messages = available_messages(mailbox)
    body = {
        "eboxId": {"eboxType": "ENTERPRISE", "eboxIdValue": mailbox.national_number},
        "exclusivelyEbox": mailbox.is_digital,
        "totalNumberOfMessages": messages.count(),
        "totalNumberOfUnreadMessages": messages.filter(read_at__isnull=True).count(),
    }
    if mailbox.last_connection_at:
        body["lastConnectionDate"] = timestamp(mailbox.last_connection_at)
    return body


class EboxPreferencesView(FederationErrors, APIView):
    permission_classes = [EnterpriseClient]
    parser_classes = [MergePatchJSONParser, SafeJSONParser]

    @docs.patch_preferences
    def patch(self, request):
        try:
            mailbox = services.update_ebox_preferences(request.enterprise_app, request.data)
        except services.Refused as exc:
            raise refused(exc) from exc
        return Response(preferences_json(mailbox))


def provider_json(request, provider: MessageProvider) -> dict:
    body = {
        "messageProviderId": provider.provider_id,
        "messageProviderName": provider.name,
        "messageProviderDescription": provider.description,
        "messageProviderUrl": provider.url,
        "messageProviderActivationDate": provider.activation_date.isoformat(),
        "messageProviderTechnicalContact": provider.technical_contact,
        "messageProviderPlannedMaintenance": provider.planned_maintenance,
        "apiSupportedVersion": provider.api_supported_version,
        "_links": {
            "self": {
                "href": request.build_absolute_uri(
                    reverse("federation-provider", kwargs={"provider_id": provider.provider_id})
                )
            }
        },
    }
    if provider.deactivation_date:
        body["messageProviderDeactivationDate"] = provider.deactivation_date.isoformat()
    return body


class MessageProvidersView(FederationErrors, APIView):
    permission_classes = [AnyClient]

    @docs.providers
    def get(self, request):
        services.platform_provider()  # eBox's own entry exists from the first question on
        return Response([provider_json(request, p) for p in selectors.message_providers()])


def _checked_id(provider_id: str) -> str:
    if not 1 <= len(provider_id) <= 100:
        raise ApiError(400, "messageProviderId must have 1 to 100 characters")
    return provider_id


class MessageProviderView(FederationErrors, APIView):
    permission_classes = [AnyClient]
    parser_classes = [MergePatchJSONParser, SafeJSONParser]

    def provider(self, provider_id: str) -> MessageProvider:
        services.platform_provider()
        provider = selectors.message_provider(_checked_id(provider_id))
        if provider is None:
            raise ApiError(404, f"messageProviderId {provider_id} not found")
        return provider

    @docs.provider
    def get(self, request, provider_id: str):
        return Response(provider_json(request, self.provider(provider_id)))

    @docs.patch_provider
    def patch(self, request, provider_id: str):
        provider = self.provider(provider_id)
        if provider.oauth_application_id is None or provider.oauth_application_id != request.auth.application_id:
            raise exceptions.AuthenticationFailed("only the provider's own client updates its entry")
        try:
            provider = services.update_message_provider(provider, request.data)
        except services.Refused as exc:
            raise refused(exc) from exc
        return Response(provider_json(request, provider))
