"""Signed callbacks to sender applications, through a real Celery worker to a real HTTP receiver.

The signature verifies with the snippet documented in docs/integrators.md; events arrive in order
per message; a receiver that is down gets everything, in order, once it is back; 500 then 200 is
delivered once; an application without a callback URL gets no rows; a worker killed mid-delivery
is recovered by the beat job; the command shows the secret once and the database never holds it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import time
from collections import defaultdict
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from ebox.dispatch import send_task
from messages.models import Message
from messages.services import acknowledgement, expiry, reading
from senders.callbacks import configuration, delivery
from senders.models import CallbackDelivery, SenderApplication
from tests.callback_receiver import Receiver
from tests.factories import CitizenFactory, SenderApplicationFactory
from tests.smtp_sink import Sink

ROOT = Path(__file__).resolve().parent.parent
FAST_RETRIES = {"EBOX_CALLBACK_RETRY_BASE_SECONDS": "0.3", "EBOX_CALLBACK_RETRY_MAX_SECONDS": "1"}


def documented_verifier():
    """The verification snippet of docs/integrators.md, run as an integrator would copy it."""
    text = (ROOT / "docs" / "integrators.md").read_text()
    code = re.search(r"```python\n(.*?def verify_ebox_callback.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own documentation
    return namespace["verify_ebox_callback"]


def wait_until(predicate, timeout: float = 30, poke=None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if poke:
            poke()
        time.sleep(0.3)
    return predicate()


def beat() -> None:
    """What beat would run every EBOX_CALLBACK_POLL_SECONDS."""
    send_task("senders.deliver_due_callbacks")


def by_message(requests) -> dict[str, list[tuple[int, str]]]:
    seen = defaultdict(list)
    for request in requests:
        seen[request.json["messageId"]].append((request.json["sequence"], request.json["event"]))
    return seen


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def with_callback(sender_application, receiver) -> str:
    """The application's callback points at the receiver; returns the secret."""
    return configuration.set_callback(sender_application, receiver.url)


@pytest.mark.worker
def test_signed_events_arrive_in_order_per_message(celery_worker_factory, receiver, with_callback, publish):
    sink = Sink().start()
    try:
        celery_worker_factory(EMAIL_URL=sink.url)
        citizens = [CitizenFactory(activated=True) for _ in range(3)]
        messages = [publish(c.national_number, registered_mail=True) for c in citizens]
        sink.wait_for(3)
        # `notified` is recorded when the SMTP server accepted the e-mail: wait for it before reading.
        assert wait_until(lambda: len(receiver.delivered()) == 6), by_message(receiver.requests)
        for message in messages:
            reading.mark_read(message, actor="citizen")
        acknowledgement.answer(messages[0], "acknowledged", channel="portal")
        acknowledgement.answer(messages[1], "refused", channel="portal")
        expiry.expire_due(timezone.now() + dt.timedelta(days=3650))
    finally:
        sink.stop()

    received = receiver.wait_for(3 * 4 + 2)
    assert len(received) == 14
    verify = documented_verifier()
    for request in received:
        assert verify(with_callback, request.headers["X-Ebox-Signature"], request.body)
        assert not verify("whsec_another", request.headers["X-Ebox-Signature"], request.body)
        assert not verify(with_callback, request.headers["X-Ebox-Signature"], request.body.replace(b"1", b"2"))
        assert request.headers["X-Ebox-Event"] == request.json["event"]
        assert request.json["senderApplicationId"] == messages[0].sender_application.application_id
    seen = by_message(received)
    assert seen[str(messages[0].id)] == [
        (1, "sealed"),
        (2, "notified"),
        (3, "read"),
        (4, "acknowledged"),
        (5, "expired"),
    ]
    assert seen[str(messages[1].id)] == [(1, "sealed"), (2, "notified"), (3, "read"), (4, "refused"), (5, "expired")]
    assert seen[str(messages[2].id)] == [(1, "sealed"), (2, "notified"), (3, "read"), (4, "expired")]
    assert {r.json["status"] for r in received if r.json["event"] == "expired"} == {"expired"}
    assert len({r.headers["X-Ebox-Delivery"] for r in received}) == 14
    assert set(CallbackDelivery.objects.values_list("state", flat=True)) == {"delivered"}


@pytest.mark.worker
def test_a_receiver_that_was_down_gets_everything_in_order(celery_worker_factory, receiver, with_callback, publish):
    celery_worker_factory(**FAST_RETRIES)
    receiver.stop()
    citizens = [CitizenFactory() for _ in range(4)]
    messages = [publish(c.national_number) for c in citizens]
    for message in messages:
        reading.mark_read(message, actor="citizen")
    # The worker tried each message's first callback, and only that one: the second waits behind it.
    assert wait_until(lambda: CallbackDelivery.objects.filter(sequence=1, attempts__gte=2).count() == 4, poke=beat), (
        list(CallbackDelivery.objects.values_list("sequence", "state", "attempts", "last_error"))
    )
    assert not CallbackDelivery.objects.filter(sequence=2).exclude(attempts=0).exists()
    assert "ConnectionError" in CallbackDelivery.objects.filter(sequence=1).first().last_error

    receiver.start()  # back, on the same port
    received = receiver.wait_for(8, poke=beat)
    assert len(received) == 8 and len(receiver.requests) == 8  # nothing lost, nothing twice
    for message in messages:
        assert by_message(received)[str(message.id)] == [(1, "sealed"), (2, "read")]
    assert wait_until(lambda: set(CallbackDelivery.objects.values_list("state", flat=True)) == {"delivered"})


@pytest.mark.worker
def test_500_then_200_is_delivered_once(celery_worker_factory, receiver, with_callback, publish, citizen):
    celery_worker_factory(**FAST_RETRIES)
    receiver.script = [500]
    message = publish(citizen.national_number)
    received = receiver.wait_for(1, poke=beat)
    assert [r.answered for r in receiver.requests] == [500, 200]
    assert received[0].json == {**received[0].json, "messageId": str(message.id), "event": "sealed", "sequence": 1}
    first, second = receiver.requests
    assert first.headers["X-Ebox-Delivery"] == second.headers["X-Ebox-Delivery"]
    row = CallbackDelivery.objects.get()
    assert wait_until(lambda: CallbackDelivery.objects.get().state == "delivered")
    row.refresh_from_db()
    assert row.attempts == 2 and str(row.delivery_id) == second.headers["X-Ebox-Delivery"]
    time.sleep(1)
    assert len(receiver.requests) == 2


@pytest.mark.worker
def test_a_worker_killed_mid_delivery_is_recovered_by_beat(
    celery_worker_factory, receiver, with_callback, publish, citizen
):
    receiver.hang.set()  # the first request never gets an answer
    worker = celery_worker_factory()
    message = publish(citizen.national_number)
    assert wait_until(lambda: len(receiver.requests) == 1)
    assert CallbackDelivery.objects.get().state == "delivering"
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool child, mid-POST
    worker.wait(10)
    receiver.hang.clear()
    receiver.release.set()

    celery_worker_factory(EBOX_CALLBACK_LEASE_SECONDS="1")
    time.sleep(1.2)
    received = receiver.wait_for(1, poke=beat)
    assert len(received) == 1 and received[0].json["messageId"] == str(message.id)
    # Sent again with the same delivery id: the receiver can tell it already had it.
    assert received[0].headers["X-Ebox-Delivery"] == receiver.requests[0].headers["X-Ebox-Delivery"]
    assert wait_until(lambda: CallbackDelivery.objects.get().state == "delivered")


def test_only_applications_with_a_callback_url_get_rows(db, organisation, publish, citizen, receiver):
    quiet = SenderApplicationFactory(organisation=organisation)
    publish(citizen.national_number, sender_application=quiet)  # no application has a callback: none
    assert not CallbackDelivery.objects.exists()

    loud = SenderApplicationFactory(organisation=organisation)
    configuration.set_callback(loud, receiver.url)
    unheard = publish(citizen.national_number, sender_application=quiet)
    heard = publish(citizen.national_number, sender_application=loud)
    reading.mark_read(unheard, actor="citizen")
    reading.mark_read(heard, actor="citizen")
    rows = list(CallbackDelivery.objects.order_by("sequence").values_list("message_id", "sequence", "event", "status"))
    assert rows == [(heard.id, 1, "sealed", "sealed"), (heard.id, 2, "read", "sealed")]


def test_the_command_shows_the_secret_once_and_the_database_never_holds_it(db, sender_application, receiver):
    out = StringIO()
    call_command("set_sender_callback", sender_application.application_id, receiver.url, stdout=out)
    secret = re.search(r"callback_secret=(whsec_\S+)", out.getvalue()).group(1)
    stored = SenderApplication.objects.get(pk=sender_application.pk)
    assert stored.callback_url == receiver.url
    assert secret.encode() not in bytes(stored.callback_secret_wrapped)
    assert configuration.signing_secret(stored) == secret.encode()
    # Again: a new secret, the old one no longer signs.
    out = StringIO()
    call_command("set_sender_callback", sender_application.application_id, receiver.url, stdout=out)
    assert secret not in out.getvalue()
    assert configuration.signing_secret(SenderApplication.objects.get(pk=sender_application.pk)) != secret.encode()


def test_unsafe_targets_are_refused_and_redirects_not_followed(
    db, settings, sender_application, receiver, publish, citizen
):
    settings.EBOX_CALLBACK_ALLOW_HTTP = False
    with pytest.raises(ValidationError):
        configuration.set_callback(sender_application, receiver.url)
    settings.EBOX_CALLBACK_ALLOW_HTTP = True
    settings.EBOX_CALLBACK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError):
        configuration.validate_callback_url("https://10.1.2.3/hook")
    with pytest.raises(configuration.TargetRefused):
        configuration.resolve_target("https://localhost/hook")

    # A name resolving to loopback, in "production": the callback fails without a request.
    settings.EBOX_CALLBACK_ALLOW_PRIVATE = True
    configuration.set_callback(sender_application, receiver.url.replace("127.0.0.1", "localhost"))
    settings.EBOX_CALLBACK_ALLOW_PRIVATE = False
    publish(citizen.national_number)
    report = delivery.deliver_batch()
    assert (report.claimed, report.failed) == (1, 1) and receiver.requests == []
    failed = CallbackDelivery.objects.get()
    assert "non-public" in failed.last_error
    # Allowed: sent to the address checked (the next one when the first refuses), named in Host.
    settings.EBOX_CALLBACK_ALLOW_PRIVATE = True
    delivery.requeue([failed.pk])
    assert delivery.deliver_batch().delivered == 1
    assert receiver.requests[0].headers["Host"] == f"localhost:{receiver.port}"

    # A redirect is an answer that is not a 2xx: retried, its Location never requested.
    settings.EBOX_CALLBACK_ALLOW_PRIVATE = True
    CallbackDelivery.objects.all().delete()
    configuration.set_callback(sender_application, receiver.url)
    receiver.script = [302]
    publish(citizen.national_number)
    report = delivery.deliver_batch()
    assert (report.claimed, report.retried) == (1, 1)
    assert [(r.path, r.answered) for r in receiver.requests[1:]] == [("/ebox/callbacks", 302)]
    assert "HTTP 302" in CallbackDelivery.objects.get().last_error


def test_failed_after_the_last_attempt_with_the_later_events_of_its_message(
    db, settings, sender_application, receiver, with_callback, publish, citizen
):
    settings.EBOX_CALLBACK_MAX_ATTEMPTS = 2
    settings.EBOX_CALLBACK_RETRY_BASE = dt.timedelta(0)
    receiver.script = [500, 500]
    message = publish(citizen.national_number)
    reading.mark_read(message, actor="citizen")
    delivery.deliver_batch()
    delivery.deliver_batch()
    first = CallbackDelivery.objects.get(sequence=1)
    assert first.state == "failed" and "attempts exhausted" in first.last_error
    delivery.deliver_batch()  # the next one cannot be sent in order any more
    second = CallbackDelivery.objects.get(sequence=2)
    assert second.state == "failed" and "earlier callback" in second.last_error
    assert len(receiver.requests) == 2

    assert delivery.requeue([first.pk]) == 2  # the operator sends them again, in order
    delivery.deliver_batch()
    delivery.deliver_batch()
    assert [(r.json["sequence"], r.answered) for r in receiver.requests[2:]] == [(1, 200), (2, 200)]
    assert json.loads(receiver.requests[-1].body)["event"] == "read"
    assert Message.objects.get(pk=message.pk).read_at is not None


def test_operators_set_the_url_in_the_admin_and_send_failed_callbacks_again(
    admin_client, settings, sender_application, receiver, publish, citizen
):
    url = f"/admin/senders/senderapplication/{sender_application.pk}/change/"
    form = {
        "organisation": sender_application.organisation_id,
        "application_id": sender_application.application_id,
        "name": json.dumps(sender_application.name),
        "description": "{}",
        "contact_technical": "",
        "callback_url": "ftp://example.be/x",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200 and "errorlist" in response.content.decode()  # refused, nothing stored
    assert SenderApplication.objects.get(pk=sender_application.pk).callback_url == ""

    response = admin_client.post(url, {**form, "callback_url": receiver.url}, follow=True)
    page = response.content.decode()
    secret = re.search(r"(whsec_[A-Za-z0-9_-]+)", page).group(1)
    stored = SenderApplication.objects.get(pk=sender_application.pk)
    assert stored.callback_url == receiver.url and configuration.signing_secret(stored) == secret.encode()

    settings.EBOX_CALLBACK_MAX_ATTEMPTS = 1
    receiver.script = [503]
    publish(citizen.national_number)
    delivery.deliver_batch()
    failed = CallbackDelivery.objects.get()
    page = admin_client.get("/admin/senders/callbackdelivery/", {"state__exact": "failed"}).content.decode()
    assert (
        str(failed.message_id) in page
        and "HTTP 503" in admin_client.get(f"/admin/senders/callbackdelivery/{failed.pk}/change/").content.decode()
    )
    admin_client.post(
        "/admin/senders/callbackdelivery/", {"action": "requeue", "_selected_action": [failed.pk]}, follow=True
    )
    delivery.deliver_batch()
    failed.refresh_from_db()
    assert failed.state == "delivered" and [r.answered for r in receiver.requests] == [503, 200]


def test_key_rotation_rewraps_the_secret_and_it_still_signs(db, sender_application, receiver):
    from messages import crypto

    secret = configuration.set_callback(sender_application, receiver.url)
    old = SenderApplication.objects.get(pk=sender_application.pk).callback_secret_kek_id
    new = crypto.generate_development_kek()
    assert configuration.rewrap_secrets() == 1
    stored = SenderApplication.objects.get(pk=sender_application.pk)
    assert old != new and stored.callback_secret_kek_id == new
    assert configuration.signing_secret(stored) == secret.encode()
    assert configuration.rewrap_secrets() == 0


def test_delivered_callbacks_are_pruned_and_numbering_goes_on(db, with_callback, receiver, publish, citizen):
    message = publish(citizen.national_number)
    delivery.deliver_batch()
    assert delivery.prune_delivered() == 0  # recent
    assert delivery.prune_delivered(timezone.now() + dt.timedelta(days=31)) == 1
    reading.mark_read(message, actor="citizen")
    assert list(CallbackDelivery.objects.values_list("sequence", "event")) == [(2, "read")]


def _certificates(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A CA (PEM), and a certificate and key it signed for localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def certificate(subject: str, key, issuer: str, issuer_key, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("Test CA", ca_key, "Test CA", ca_key, ca=True)
    leaf = certificate("localhost", leaf_key, "Test CA", ca_key, ca=False)
    paths = tmp_path / "ca.pem", tmp_path / "leaf.pem", tmp_path / "leaf.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def test_https_receivers_are_checked_by_name_on_the_pinned_address(
    db, settings, tmp_path, sender_application, publish, citizen
):
    import ssl

    ca, leaf, key = _certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(leaf, key)
    receiver = Receiver(tls=context, host="localhost").start()
    try:
        configuration.set_callback(sender_application, receiver.url)
        publish(citizen.national_number)
        # A certificate the platform does not trust: not delivered, retried.
        assert delivery.deliver_batch().retried == 1
        assert "SSL" in CallbackDelivery.objects.get().last_error and receiver.requests == []
        # Trusted: delivered over TLS to the address checked, the certificate matched to the name.
        settings.EBOX_CALLBACK_CA_BUNDLE = str(ca)
        CallbackDelivery.objects.update(next_attempt_at=timezone.now())
        assert delivery.deliver_batch().delivered == 1
        assert receiver.requests[0].json["event"] == "sealed"
    finally:
        receiver.stop()
