"""The federation 1.3 documentation operations: the links document (`/api`), the spec itself
(`/api/doc/swagger.json`, rendered by Swagger UI at `/api/doc`) and its definitions as JSON Schemas."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import yaml
from django.urls import reverse
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from federation.api import docs
from senders.api.errors import ApiError

SPEC = Path(__file__).resolve().parents[2] / "senders" / "api" / "contract" / "ebox-federation-1.3.yaml"


@cache
def _spec() -> dict:
    return yaml.safe_load(SPEC.read_text())


def served_spec(base_path: str) -> dict:
    """The federation spec as we serve it: our base path, no foreign host."""
    spec = copy.deepcopy(_spec())
    spec["basePath"] = base_path.rstrip("/")
    return spec


class PublicView(APIView):
    """No token needed: the documentation is public."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


def _links(request) -> dict:
    def link(name: str, **kwargs) -> dict:
        return {"href": request.build_absolute_uri(reverse(name, kwargs=kwargs or None))}

    return {
        "self": link("federation-links"),
        "documentation": link("federation-doc"),
        "swagger": link("federation-swagger"),
        "eboxPreferencesSearch": link("federation-preferences-search"),
        "eboxPreferences": link("federation-preferences"),
        "messageProviders": link("federation-providers"),
    }


def _links_response(request) -> Response:
    links = _links(request)
    response = Response({"_links": links})
    response["Link"] = ", ".join(f'<{value["href"]}>; rel="{rel}"' for rel, value in links.items())
    return response


class LinksView(PublicView):
    @docs.links
    def get(self, request):
        return _links_response(request)

    @docs.links_options
    def options(self, request, *args, **kwargs):
        return _links_response(request)


class SwaggerView(PublicView):
    @docs.swagger
    def get(self, request):
        base = reverse("federation-links").removesuffix("api")
        return Response(served_spec(base))


class JsonSchemaView(PublicView):
    @docs.json_schema
    def get(self, request, json_schema: str):
        name = json_schema.removesuffix(".json")
        definitions = _spec()["definitions"]
        if name not in definitions:
            raise ApiError(404, f"no JSON Schema named {json_schema}", code="NOT_FOUND")
        schema = {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "id": request.build_absolute_uri(),
            "title": name,
            **copy.deepcopy(definitions[name]),
            "definitions": copy.deepcopy(definitions),
        }
        return Response(schema)
