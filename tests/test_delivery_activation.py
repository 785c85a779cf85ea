"""Issue 16, item 1: a citizen is digital only once their e-mail address is verified.

Real services: the sender API over HTTP (live server, OAuth), the portal, a real SMTP sink.
"""

from __future__ import annotations

import pytest

from citizens.models import Citizen
from messages.models import EmailNotification
from messages.notifications import mail
from tests.factories import CitizenFactory
from tests.publication_support import message_json
from tests.smtp_sink import Sink
from tests.test_publication import integrator, publish  # noqa: F401 - the sender API fixture

NUMBER = "92041512329"
BODY_ONLY = {"bodyContent": {"fr": "Bonjour"}, "bodyMainContent": True, "attachments": []}


@pytest.fixture
def sink(settings):
    sink = Sink().start()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    mail.clear_cache()
    yield sink
    sink.stop()


def _preferences(it) -> tuple[bool, str]:
    answer = it.session.post(
        f"{it.url}/api/v2/eboxPreferences/search",
        json={"eboxType": "CITIZEN", "eboxIdType": "INSS", "eboxIdValueList": [NUMBER]},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()[0]["exclusivelyEbox"], answer.json()[0]["channel"]


def _publication_code(it) -> str:
    answer = publish(it, message_json(NUMBER, **BODY_ONLY))
    assert answer.status_code == 201, answer.text
    return answer.json()["code"]


def _link(received) -> str:
    line = next(line for line in received.text.splitlines() if "/verify-email/" in line)
    return "/" + line.split("://", 1)[1].split("/", 1)[1]


def _login(client, number: str) -> Citizen:
    from citizens import services

    citizen = services.citizen_logged_in(number, given_name="Anna")
    client.force_login(citizen.user)
    return citizen


def test_unverified_activation_keeps_paper_until_the_link_is_opened(client, integrator, sink):  # noqa: F811
    _login(client, NUMBER)
    response = client.post("/activate/", {"consent": "on", "email": "typo@example.org", "language": "en"})
    assert response.status_code == 302
    (verification,) = sink.wait_for(1)
    assert verification.rcpt == ["typo@example.org"]
    # Activated but unverified: still paper everywhere, and the portal says so with a way to resend.
    assert _preferences(integrator) == (False, "paper")
    assert _publication_code(integrator) == "paper"
    inbox = client.get("/inbox/").content.decode()
    assert 'id="unverified-notice"' in inbox and "on paper" in inbox and _resend_url() in inbox
    assert client.post(_resend_url(), {}).status_code == 302
    sink.wait_for(2)
    # Opening the link (GET shows a button; POST verifies) switches the channel to digital.
    client.post(_link(sink.received[-1]))
    assert Citizen.objects.get(national_number=NUMBER).is_digital
    assert _preferences(integrator) == (True, "digital")
    assert _publication_code(integrator) == "digital"
    assert 'id="unverified-notice"' not in client.get("/inbox/").content.decode()


def _resend_url() -> str:
    from django.urls import reverse

    return reverse("citizens:resend_verification")


def test_a_changed_address_gets_notifications_only_once_verified(client, integrator, sink, settings):  # noqa: F811
    settings.EBOX_NOTIFICATION_WINDOW = __import__("datetime").timedelta(seconds=0)
    CitizenFactory(national_number=NUMBER, activated=True, email="old@example.org")
    _login(client, NUMBER)
    client.post("/settings/", {"email": "new@example.org", "language": "fr", "notify_new_messages": "on"})
    (verification,) = sink.wait_for(1)
    assert verification.rcpt == ["new@example.org"]
    citizen = Citizen.objects.get(national_number=NUMBER)
    assert (citizen.email, citizen.pending_email, citizen.is_digital) == ("old@example.org", "new@example.org", True)
    assert "new@example.org" in client.get("/settings/").content.decode()
    # A letter now: still digital, and the notification goes to the old, verified address.
    assert _publication_code(integrator) == "digital"
    # (Eager tasks here: publication seals, and sealing sends the e-mail owed, as a worker would.)
    assert sink.wait_for(2)[-1].rcpt == ["old@example.org"]
    assert EmailNotification.objects.get().to_address == "old@example.org"
    # Confirming the new address makes it the one notifications go to.
    client.post(_link(verification))
    citizen.refresh_from_db()
    assert (citizen.email, citizen.pending_email) == ("new@example.org", "")
    assert citizen.email_verified_at is not None


def test_deactivation_returns_to_paper_with_a_confirmation_email(client, integrator, sink):  # noqa: F811
    CitizenFactory(national_number=NUMBER, activated=True, email="anna@example.org")
    _login(client, NUMBER)
    assert _preferences(integrator) == (True, "digital")
    client.post("/activate/deactivate/", {"confirm": "1"})
    (confirmation,) = sink.wait_for(1)
    assert confirmation.rcpt == ["anna@example.org"]
    assert confirmation.message["Subject"] == "Votre eBox est désactivée" or "deactivated" in confirmation.text
    assert _preferences(integrator) == (False, "paper")
    assert _publication_code(integrator) == "paper"
