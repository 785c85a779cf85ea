"""Issue 15, item 3: inputs that used to give a 500 get a 4xx StatusMessage, and nothing is stored.

Each case is one request an attacker (or a careless client) can send; the answer must be a
StatusMessage with a 4xx status, and no message may have been stored.
"""

from __future__ import annotations

import json
from base64 import b64encode

import pytest
from django.db import transaction

from messages.models import Message
from tests.publication_support import message_json
from tests.spec import assert_matches
from tests.test_security import citizen_user, new_client, partner, partner_token, sender, token_request  # noqa: F401

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
LONG_NUMBER = "1" * 5000


@pytest.fixture
def api(request, citizen, message_type, settings):
    app, vault = request.getfixturevalue("sender"), request.getfixturevalue("partner")
    settings.EBOX_RATE_LIMITS = {k: "100000/60" for k in settings.EBOX_RATE_LIMITS}
    citizen_user(citizen)
    return {
        "sender": token_request(new_client(), app.client_id, app.client_secret).json()["access_token"],
        "partner": partner_token(vault, citizen),
        "message_type": message_type,
        "citizen": citizen,
    }


def _publish_body(data: dict | str, pdf: bytes) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    raw = data if isinstance(data, str) else json.dumps(data)
    return {"messageToPublish": raw, "upfile1": SimpleUploadedFile("letter.pdf", pdf, "application/pdf")}


def _cases(api, pdf_bytes):
    """(name, method, path, kwargs) for every input of the issue."""
    s = {"HTTP_AUTHORIZATION": f"Bearer {api['sender']}"}
    p = {"HTTP_AUTHORIZATION": f"Bearer {api['partner']}"}
    type_id = api["message_type"].message_type_id
    number = api["citizen"].national_number
    good = message_json(number, type_id)
    huge = "99999999999999999999"
    document = {
        "upfile1": {"fileName": "a.pdf", "mediaType": "application/pdf", "content": b64encode(pdf_bytes).decode()}
    }

    def item(message: dict, **extra) -> str:
        return json.dumps({"messages": [{"messageToPublish": message, "documents": document, **extra}]})

    def js(body):
        return {"data": body, "content_type": "application/json"}

    cases = [
        # paging past PostgreSQL's bigint
        ("page messageTypes", "get", f"/api/v2/referenceData/messageTypes?page={huge}", s),
        ("page senderApplications", "get", f"/api/v2/referenceData/senderApplications?page={huge}", s),
        ("page senderOrganizations", "get", f"/api/v2/referenceData/senderOrganizations?page={huge}", s),
        ("page replies", "get", f"/api/v2/extensions/replies?page={huge}", s),
        ("page ebox messages", "get", f"/api/v2/ebox/messages?page={huge}&pageSize={huge}", p),
        # NUL bytes
        ("NUL messageTypeId path", "get", "/api/v2/referenceData/messageTypes/a%00b", s),
        ("NUL senderApplicationId path", "get", "/api/v2/referenceData/senderApplications/a%00b", s),
        ("NUL senderOrganizationId path", "get", "/api/v2/referenceData/senderOrganizations/a%00b", s),
        ("NUL ebox message path", "get", "/api/v2/ebox/messages/a%00b", p),
        ("NUL ebox attachment path", "get", "/api/v2/ebox/messages/a%00b/attachments/c%00d", p),
        ("NUL query filter", "get", "/api/v2/ebox/messages?messageTypeId=a%00b&senderApplicationId=%00", p),
        ("NUL search query", "get", "/api/v2/ebox/messages?q=a%00b&qlang=fr", p),
        ("NUL bearer token", "get", "/api/v2/referenceData/messageTypes", {"HTTP_AUTHORIZATION": "Bearer a\x00b"}),
        ("NUL partner bearer token", "get", "/api/v2/ebox", {"HTTP_AUTHORIZATION": "Bearer a\x00b"}),
        (
            "NUL messageTypeId body",
            "post",
            "/api/v2/publishMessage",
            {**s, "data": _publish_body({**good, "messageTypeId": "a\x00b"}, pdf_bytes)},
        ),
        (
            "NUL Idempotency-Key",
            "post",
            "/api/v2/publishMessage",
            {**s, "HTTP_IDEMPOTENCY_KEY": "a\x00b", "data": _publish_body(good, pdf_bytes)},
        ),
        (
            "NUL batch idempotencyKey",
            "post",
            "/api/v2/extensions/publishMessages",
            {**s, **js(item(good, idempotencyKey="a\x00b"))},
        ),
        ("NUL status search", "post", "/api/v2/searchMessageStatus", {**s, **js('[{"messageId": "a\\u0000b"}]')}),
        # lone surrogates
        (
            "surrogate subject",
            "post",
            "/api/v2/publishMessage",
            {**s, "data": _publish_body(json.dumps({**good, "subject": {"fr": "\ud800"}}), pdf_bytes)},
        ),
        (
            "surrogate batch subject",
            "post",
            "/api/v2/extensions/publishMessages",
            {**s, **js(item({**good, "subject": {"fr": "\ud800"}}))},
        ),
        # numbers past Python's int limit
        (
            "long eboxIdValue publish",
            "post",
            "/api/v2/publishMessage",
            {
                **s,
                "data": _publish_body(
                    {**good, "recipient": {"eboxType": "citizen", "eboxIdValue": LONG_NUMBER}}, pdf_bytes
                ),
            },
        ),
        (
            "long eboxIdValue enterprise",
            "post",
            "/api/v2/publishMessage",
            {
                **s,
                "data": _publish_body(
                    {**good, "recipient": {"eboxType": "enterprise", "eboxIdValue": LONG_NUMBER}}, pdf_bytes
                ),
            },
        ),
        (
            "long eboxIdValue preferences",
            "post",
            "/api/v2/eboxPreferences/search",
            {**s, **js(json.dumps({"eboxType": "enterprise", "eboxIdValueList": [LONG_NUMBER]}))},
        ),
        ("long JSON number", "post", "/api/v2/searchMessageStatus", {**s, **js("[" + LONG_NUMBER + "]")}),
        # deep JSON
        ("deep messageToPublish", "post", "/api/v2/publishMessage", {**s, "data": _publish_body(DEEP, pdf_bytes)}),
        (
            "deep object messageToPublish",
            "post",
            "/api/v2/publishMessage",
            {**s, "data": _publish_body(DEEP_OBJECT, pdf_bytes)},
        ),
    ]
    for path in (
        "/api/v2/linkEboxMessage",
        "/api/v2/searchMessageStatus",
        "/api/v2/eboxPreferences/search",
        "/api/v2/extensions/publishMessages",
    ):
        cases.append((f"deep {path}", "post", path, {**s, **js(DEEP)}))
        cases.append((f"deep object {path}", "post", path, {**s, **js(DEEP_OBJECT)}))
    cases.append(("deep ebox PATCH", "patch", "/api/v2/ebox/messages", {**p, **js(DEEP)}))
    cases.append(
        (
            "deep merge-patch",
            "patch",
            "/api/v2/ebox/messages",
            {**p, "data": DEEP_OBJECT, "content_type": "application/merge-patch+json"},
        )
    )
    return cases


def test_every_known_bad_input_gets_a_4xx_status_message_and_stores_nothing(api, pdf_bytes):
    client = new_client()
    problems = []
    before = Message.objects.count()
    for name, method, path, kwargs in _cases(api, pdf_bytes):
        # Each case in a savepoint of its own: a statement PostgreSQL refused must not fail the next cases.
        savepoint = transaction.savepoint()
        answer = getattr(client, method)(path, **kwargs)
        transaction.savepoint_rollback(savepoint)
        if not 400 <= answer.status_code < 500:
            problems.append(f"{name}: {answer.status_code} {answer.content[:200]!r}")
            continue
        try:
            assert_matches(answer.json(), "StatusMessage")
        except Exception as exc:  # noqa: BLE001 - collect every case's problem
            problems.append(f"{name}: not a StatusMessage: {exc}")
    assert not problems, "\n".join(problems)
    assert Message.objects.count() == before


def test_a_garbage_bearer_token_gets_401(api):
    answer = new_client().get("/api/v2/referenceData/messageTypes", HTTP_AUTHORIZATION="Bearer a\x00b")
    assert answer.status_code == 401 and answer.json()["code"] == "INVALID_AUTHORIZATION"


# --- 10. Oversized URLs and headers get a StatusMessage below gunicorn's own (HTML) limits -------------


def test_long_urls_and_headers_get_a_status_message_below_gunicorns_limits(api):
    import runpy

    from ebox import safe_input
    from tests.conftest import ROOT

    client = new_client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api['sender']}"}
    long_url = client.get("/api/v2/referenceData/messageTypes?x=" + "a" * 5000, **auth)
    assert long_url.status_code == 414 and long_url.json()["code"] == "URI_TOO_LONG"
    assert_matches(long_url.json(), "StatusMessage")
    long_header = client.get("/api/v2/referenceData/messageTypes", HTTP_X_PADDING="a" * 5000, **auth)
    assert long_header.status_code == 431 and long_header.json()["code"] == "HEADER_TOO_LARGE"
    many_headers = client.get(
        "/api/v2/referenceData/messageTypes", **{f"HTTP_X_P{i}": "a" * 3000 for i in range(6)}, **auth
    )
    assert many_headers.status_code == 431
    assert client.get("/api/v2/referenceData/messageTypes?x=" + "a" * 3000, **auth).status_code == 200
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["limit_request_line"] > safe_input.MAX_URL_BYTES + 100
    assert conf["limit_request_field_size"] > safe_input.MAX_HEADER_BYTES + 100


# --- 6. One documented size limit per endpoint -------------------------------------------------------


def test_the_batch_limit_is_its_own_and_an_oversized_item_gets_its_own_413(api, settings):
    from ebox.pdf import simple_pdf

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000  # the JSON endpoints' limit: not the batch's
    settings.EBOX_MAX_ATTACHMENT_BYTES = 100_000
    settings.EBOX_BATCH_MAX_BYTES = 1_000_000
    number, type_id = api["citizen"].national_number, api["message_type"].message_type_id

    def item(pdf: bytes) -> dict:
        return {
            "messageToPublish": message_json(number, type_id),
            "documents": {
                "upfile1": {"fileName": "a.pdf", "mediaType": "application/pdf", "content": b64encode(pdf).decode()}
            },
        }

    small, large = simple_pdf("ok", ["x"], padding_bytes=20_000), simple_pdf("big", ["x"], padding_bytes=150_000)
    client, auth = new_client(), {"HTTP_AUTHORIZATION": f"Bearer {api['sender']}"}
    answer = client.post(
        "/api/v2/extensions/publishMessages",
        json.dumps({"messages": [item(small), item(large), item(small)]}),
        content_type="application/json",
        **auth,
    )
    assert answer.status_code == 200, answer.content[:300]
    assert [i["status"] for i in answer.json()["items"]] == [201, 413, 201]
    too_big = client.post(
        "/api/v2/extensions/publishMessages",
        json.dumps({"messages": [item(small)] * 40}),
        content_type="application/json",
        **auth,
    )
    assert too_big.status_code == 413 and too_big.json()["code"] == "PAYLOAD_TOO_LARGE"
    other = client.post(
        "/api/v2/searchMessageStatus", "[" + '"x",' * 30_000 + '"x"]', content_type="application/json", **auth
    )
    assert other.status_code == 413 and other.json()["code"] == "PAYLOAD_TOO_LARGE"
