"""Helpers for the publication tests: an integrator's OAuth client, and the spec's definitions as JSON schema."""

from __future__ import annotations

import base64
import hashlib
import json

from authlib.integrations.requests_client import OAuth2Session

from tests.spec import FEDERATION, assert_matches  # noqa: F401 - re-used by the publication tests


def assert_status_message(response, status: int, *refs: str) -> dict:
    """The response is a StatusMessage with this status, naming each of `refs` in its details."""
    assert response.status_code == status, response.text
    body = response.json()
    assert_matches(body, "StatusMessage")
    named = {d["ref"] for d in body.get("details", [])}
    for ref in refs:
        assert ref in named, (ref, body)
    return body


def token_session(base_url: str, client_id: str, client_secret: str, scope: str | None = None) -> OAuth2Session:
    """What an integrator does: client credentials at the token endpoint, over HTTP."""
    session = OAuth2Session(client_id, client_secret, scope=scope, token_endpoint_auth_method="client_secret_basic")
    session.fetch_token(f"{base_url}/o/token/", grant_type="client_credentials")
    return session


def b64url_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def message_json(number: str = "85073003328", message_type: str = "", **overrides) -> dict:
    data = {
        "recipient": {"eboxType": "citizen", "eboxIdValue": number},
        "messageTypeId": message_type,
        "subject": {"fr": "Votre courrier", "nl": "Uw brief"},
        "bodyMainContent": False,
        "replyAuthorized": False,
        "attachments": [{"httpPartName": "upfile1", "mainContent": True}],
    }
    data.update(overrides)
    return data


def multipart(data: dict, files: dict | None = None, as_file: bool = False) -> list:
    """requests' `files=` list: the JSON part (as a field or a file part) and the documents."""
    parts = []
    if as_file:
        parts.append(("messageToPublish", ("message.json", json.dumps(data), "application/json")))
    else:
        parts.append(("messageToPublish", (None, json.dumps(data))))
    for name, value in (files or {}).items():
        parts.append((name, value))
    return parts
