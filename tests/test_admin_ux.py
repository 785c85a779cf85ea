"""The operators' admin (issue 18): search messages and citizens as operators type them, readable inlines."""

from __future__ import annotations

from tests.factories import CitizenFactory


def test_messages_are_found_by_id_and_by_recipient_number_as_printed(admin_client, publish, citizen):
    message = publish(citizen.national_number)
    other = publish(CitizenFactory().national_number)
    n = citizen.national_number
    printed = f"{n[:2]}.{n[2:4]}.{n[4:6]}-{n[6:9]}.{n[9:]}"
    for term in (str(message.pk), n, printed):
        html = admin_client.get("/admin/mailbox/message/", {"q": term}).content.decode()
        assert f"/{message.pk}/change/" in html and f"/{other.pk}/change/" not in html, term
    assert admin_client.get("/admin/mailbox/message/", {"q": "nothing-like-this"}).status_code == 200
    # The status as the API says it.
    html = admin_client.get("/admin/mailbox/message/").content.decode()
    assert '<td class="field-api_status">sealed</td>' in html


def test_a_message_s_events_are_not_labelled_object_n(admin_client, publish, citizen):
    message = publish(citizen.national_number)
    html = admin_client.get(f"/admin/mailbox/message/{message.pk}/change/").content.decode()
    assert "MessageEvent object" not in html and "sealed" in html


def test_citizens_are_found_by_the_printed_national_number(admin_client, db):
    citizen = CitizenFactory(activated=True)
    n = citizen.national_number
    html = admin_client.get("/admin/citizens/citizen/", {"q": f"{n[:2]}.{n[2:4]}.{n[4:6]}-{n[6:9]}.{n[9:]}"}).content
    assert f"/admin/citizens/citizen/{citizen.pk}/change/" in html.decode()
    html = admin_client.get(f"/admin/citizens/citizen/{citizen.pk}/change/").content.decode()
    assert "ActivationChange object" not in html
