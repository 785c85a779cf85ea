"""Loads the demo data (`manage.py load_demo`, `make run`): organisations, citizens, sealed messages,
and the back-dated history behind the statistics charts. The definitions are in `demo.data`.
"""

from __future__ import annotations

import datetime as dt
import io
import random

from django.db import transaction
from django.utils import timezone

from citizens.models import ActivationChange, Citizen
from demo.data import (
    ACTIVATION_MONTHS,
    DEMO_CITIZENS,
    DEMO_CPAS_REPLY,
    DEMO_ENTERPRISES,
    DEMO_HISTORY_ORGANISATIONS,
    DEMO_MANDATES,
    DEMO_ORGANISATIONS,
    DEMO_SENDER_ROLES,
    HISTORY_BASE,
    HISTORY_CITIZENS,
    HISTORY_MONTHS,
    history_national_number,
)
from ebox.pdf import simple_pdf
from mandates import services as mandate_services
from messages.models import EmailNotification, Message, MessageEvent
from messages.services import publishing, replies, sealing
from sender_portal import services as sender_portal
from senders.models import MessageType, Organisation, SenderApplication


def _pdf(title: str, lines: list[str]) -> io.BytesIO:
    return io.BytesIO(simple_pdf(title, lines))


@transaction.atomic
def load_demo() -> dict[str, int]:
    """Create the demo data unless it is there already; returns counts of what was created."""
    created = {"organisations": 0, "citizens": 0, "messages": 0}
    created["organisations"] += _create_organisations(DEMO_ORGANISATIONS)
    for person in DEMO_CITIZENS:
        citizen, new = Citizen.objects.get_or_create(
            national_number=person["national_number"],
            defaults={
                "preferred_language": person["language"],
                "email": person["email"],
                # The identity source fills name and address: what a letter on paper is posted to.
                "name": f"{person['given_name']} {person['family_name']}",
                **person["address"],
            },
        )
        created["citizens"] += new
        if not new and not (citizen.street and citizen.name):  # a database loaded before they were on record
            Citizen.objects.filter(pk=citizen.pk).update(
                name=f"{person['given_name']} {person['family_name']}", **person["address"]
            )
        if new and person["activated"]:
            now = timezone.now()
            citizen.activated_at = now
            citizen.email_verified_at = now
            citizen.save()
            ActivationChange.objects.create(citizen=citizen, kind=ActivationChange.Kind.ACTIVATED, actor="demo")
    created["citizens"] += _create_enterprises()
    for enterprise_number, national_number, role in DEMO_SENDER_ROLES:
        sender_portal.grant_role(Organisation.objects.get(enterprise_number=enterprise_number), national_number, role)
    if not SenderApplication.objects.get(application_id="myminfin").messages.exists():
        created["messages"] = _demo_messages() + _enterprise_and_child_messages()
        _demo_reply()
    return created


def _demo_reply() -> None:
    """Marie answers the CPAS of Liège's decision, so its clerk (Julie) has a reply to read."""
    national_number, text = DEMO_CPAS_REPLY
    letter = Message.objects.get(
        citizen__national_number=national_number, message_type__message_type_id="social-decision"
    )
    replies.reply_to_message(letter, letter.citizen, text)


def _create_enterprises() -> int:
    """The demo enterprises' eBoxes, and the register's mandates (directors, parents) for them and Léa."""
    new_count = 0
    for spec in DEMO_ENTERPRISES:
        enterprise, new = Citizen.objects.get_or_create(
            national_number=spec["enterprise_number"],
            defaults={
                "kind": Citizen.Kind.ENTERPRISE,
                "name": spec["name"],
                "preferred_language": spec["language"],
                "email": spec["email"],
                **spec["address"],
            },
        )
        new_count += new
        if new and spec["activated"]:
            now = timezone.now()
            Citizen.objects.filter(pk=enterprise.pk).update(activated_at=now, email_verified_at=now)
            ActivationChange.objects.create(citizen=enterprise, kind=ActivationChange.Kind.ACTIVATED, actor="demo")
    for spec in DEMO_MANDATES:
        mandate_services.register_mandate(
            spec["owner_number"],
            spec["representative_number"],
            role=spec["role"],
            scope=spec["scope"],
            valid_from=spec["valid_from"],
            valid_until=None,
            owner_name=spec["owner_name"],
        )
    return new_count


def _demo_messages() -> int:
    apps = {a.application_id: a for a in SenderApplication.objects.select_related("organisation")}
    types = {t.message_type_id: t for t in MessageType.objects.all()}
    year = timezone.localdate().year
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    letters = []
    for person in DEMO_CITIZENS:
        if not person.get("letters", True):
            continue
        nn = person["national_number"]
        name = f"{person['given_name']} {person['family_name']}"
        letters += [
            publishing.NewMessage(
                sender_application=apps["myminfin"],
                message_type=types["tax-assessment"],
                recipient_type="citizen",
                recipient_id=nn,
                subject={
                    "fr": f"Avertissement-extrait de rôle – revenus {year - 1}",
                    "nl": f"Aanslagbiljet – inkomsten {year - 1}",
                    "de": f"Steuerbescheid – Einkünfte {year - 1}",
                    "en": f"Tax assessment – {year - 1} income",
                },
                body={
                    "fr": "Votre avertissement-extrait de rôle est joint à ce message.",
                    "nl": "Uw aanslagbiljet is bij dit bericht gevoegd.",
                    "de": "Ihr Steuerbescheid ist dieser Nachricht beigefügt.",
                    "en": "Your tax assessment is attached to this message.",
                },
                payment_data={
                    "paymentDataId": f"pay-{nn}",
                    "amount": 412.37,
                    "vatAmount": 0.0,
                    "currency": "EUR",
                    "dueDate": due,
                    "iban": "BE22679200300047",
                    "bic": "PCHQBEBB",
                    "reference": {"structured": "+++090/9337/55493+++"},
                },
                attachments=[
                    publishing.AttachmentUpload(
                        file=_pdf(
                            "SPF Finances - Avertissement-extrait de role",
                            [
                                name,
                                f"Exercice d'imposition {year}",
                                "Montant a payer : 412,37 EUR",
                                "Compte : BE22 6792 0030 0047",
                                "Communication : +++090/9337/55493+++",
                            ],
                        ),
                        file_name=f"avertissement-extrait-de-role-{year}.pdf",
                        media_type="application/pdf",
                        main_content=True,
                        title={"fr": "Avertissement-extrait de rôle", "nl": "Aanslagbiljet"},
                    )
                ],
            ),
            publishing.NewMessage(
                sender_application=apps["brussels-citizen-services"],
                message_type=types["population-certificate"],
                recipient_type="citizen",
                recipient_id=nn,
                subject={"fr": "Votre certificat de composition de ménage", "nl": "Uw attest van gezinssamenstelling"},
                body={
                    "fr": "Bonjour,\n\nVous trouverez ci-joint le certificat demandé le "
                    f"{timezone.localdate():%d/%m/%Y}.\n\nLe service Population",
                    "nl": "Goedendag,\n\nIn bijlage vindt u het gevraagde attest.\n\nDienst Bevolking",
                },
                body_main_content=True,
                reply_authorized=True,
                attachments=[
                    publishing.AttachmentUpload(
                        file=_pdf("Ville de Bruxelles - Composition de menage", [name, "1000 Bruxelles"]),
                        file_name="composition-de-menage.pdf",
                        media_type="application/pdf",
                    )
                ],
            ),
            publishing.NewMessage(
                sender_application=apps["cpas-liege-social"],
                message_type=types["social-decision"],
                recipient_type="citizen",
                recipient_id=nn,
                registered_mail=True,
                reply_authorized=True,  # the CPAS clerk's replies inbox (DEMO_CPAS_REPLY)
                subject={"fr": "Décision concernant votre demande d'aide", "de": "Entscheidung über Ihren Antrag"},
                attachments=[
                    publishing.AttachmentUpload(
                        file=_pdf("CPAS de Liege - Decision", [name, "Votre demande a ete acceptee."]),
                        file_name="decision.pdf",
                        media_type="application/pdf",
                        main_content=True,
                    )
                ],
            ),
            publishing.NewMessage(
                sender_application=apps["mypension"],
                message_type=types["pension-statement"],
                recipient_type="citizen",
                recipient_id=nn,
                subject={
                    "nl": "Uw pensioenoverzicht",
                    "fr": "Votre relevé de pension",
                    "de": "Ihre Rentenübersicht",
                    "en": "Your pension statement",
                },
                body={
                    "nl": "Uw jaarlijks pensioenoverzicht staat klaar.",
                    "fr": "Votre relevé annuel est prêt.",
                    "de": "Ihre jährliche Rentenübersicht ist bereit.",
                    "en": "Your yearly statement is ready.",
                },
                body_main_content=True,
            ),
        ]
    ids = [publishing.publish_message(letter).id for letter in letters]
    sealing.seal_messages(ids)
    _owe_no_email(ids)
    return len(ids)


def _enterprise_and_child_messages() -> int:
    """Letters for the bakery (Marie reads them as its director) and for Léa (as her parent)."""
    apps = {a.application_id: a for a in SenderApplication.objects.select_related("organisation")}
    types = {t.message_type_id: t for t in MessageType.objects.all()}
    year = timezone.localdate().year
    bakery = DEMO_ENTERPRISES[0]
    letters = [
        publishing.NewMessage(
            sender_application=apps["myminfin"],
            message_type=types["tax-assessment"],
            recipient_type="enterprise",
            recipient_id=bakery["enterprise_number"],
            subject={
                "fr": f"Impôt des sociétés – exercice {year}",
                "nl": f"Vennootschapsbelasting – aanslagjaar {year}",
                "de": f"Körperschaftsteuer – Steuerjahr {year}",
                "en": f"Corporate income tax – {year}",
            },
            attachments=[
                publishing.AttachmentUpload(
                    file=_pdf(
                        "SPF Finances - Impot des societes",
                        [bakery["name"], "BE 0990.000.806", f"Exercice d'imposition {year}", "Montant : 1 284,00 EUR"],
                    ),
                    file_name=f"impot-des-societes-{year}.pdf",
                    media_type="application/pdf",
                    main_content=True,
                )
            ],
        ),
        publishing.NewMessage(
            sender_application=apps["brussels-citizen-services"],
            message_type=types["municipal-tax"],
            recipient_type="enterprise",
            recipient_id=bakery["enterprise_number"],
            subject={"fr": "Taxe sur les enseignes lumineuses", "nl": "Belasting op lichtreclame"},
            body={
                "fr": "Madame, Monsieur,\n\nVeuillez trouver ci-joint l'avis de taxe pour l'enseigne de votre "
                "commerce, chaussée de Wavre 120.\n\nLe service des Taxes",
                "nl": "Geachte,\n\nIn bijlage het aanslagbiljet voor het uithangbord van uw zaak.\n\nDienst Belastingen",
            },
            body_main_content=True,
        ),
        publishing.NewMessage(
            sender_application=apps["brussels-citizen-services"],
            message_type=types["population-certificate"],
            recipient_type="citizen",
            recipient_id="15031412316",
            subject={"fr": "La Kids-ID de Léa est prête", "nl": "De Kids-ID van Léa is klaar"},
            body={
                "fr": "Bonjour,\n\nLa carte d'identité électronique pour enfants de Léa Dubois peut être retirée "
                "au guichet Population.\n\nLe service Population",
                "nl": "Goedendag,\n\nDe Kids-ID van Léa Dubois kan aan het loket Bevolking worden afgehaald.",
            },
            body_main_content=True,
        ),
    ]
    ids = [publishing.publish_message(letter).id for letter in letters]
    sealing.seal_messages(ids)
    _owe_no_email(ids)
    return len(ids)


def _owe_no_email(message_ids: list) -> None:
    """Sealing owes the recipients a new-mail e-mail (messages.notifications.owing); demo letters are
    not news, and `make run` would bury the e-mails one triggers under them: none is owed."""
    EmailNotification.objects.filter(status=EmailNotification.Status.PENDING, message_ids__overlap=message_ids).delete()


def _create_organisations(specs: list[dict]) -> int:
    created = 0
    for spec in specs:
        organisation, new = Organisation.objects.get_or_create(
            enterprise_number=spec["enterprise_number"],
            defaults={k: spec[k] for k in ("short_name", "category", "region", "joined_on")}
            | {"long_name": spec.get("long_name", {}), "paper_transition_until": spec.get("paper_transition_until")}
            | {"paper_service": spec.get("paper_service", False), "return_address": spec.get("return_address", "")},
        )
        created += new
        if not new and spec.get("paper_service") and not organisation.return_address:  # loaded before the service
            Organisation.objects.filter(pk=organisation.pk).update(
                paper_service=True, return_address=spec["return_address"]
            )
        SenderApplication.objects.get_or_create(
            application_id=spec["application"],
            defaults={"organisation": organisation, "name": {"fr": spec["application"], "nl": spec["application"]}},
        )
        for type_id, name, number, unit in spec["types"]:
            MessageType.objects.get_or_create(
                message_type_id=type_id,
                defaults={"organisation": organisation, "name": name, "validity_number": number, "validity_unit": unit},
            )
    return created


@transaction.atomic
def load_demo_history() -> dict[str, int]:
    """Add the history behind the statistics charts (once; safe to repeat). Needs `load_demo` first."""
    created = {"organisations": _create_organisations(DEMO_HISTORY_ORGANISATIONS), "citizens": 0, "messages": 0}
    tz = timezone.get_default_timezone()
    now = timezone.now()
    this_month = timezone.localdate().replace(day=1)

    def month_back(count: int) -> dt.date:
        year, index = divmod(this_month.month - 1 - count, 12)
        return dt.date(this_month.year + year, index + 1, 1)

    if Message.objects.filter(
        received_at__lt=timezone.make_aware(dt.datetime.combine(this_month, dt.time()), tz)
    ).exists():
        return created  # history already there
    rng = random.Random(2018)  # noqa: S311 - demo data, reproducible on purpose

    # Citizens: most activate, more of them as time goes by (a growth curve).
    numbers = [history_national_number(k) for k in range(HISTORY_CITIZENS)]
    existing = set(Citizen.objects.filter(national_number__in=numbers).values_list("national_number", flat=True))
    activations = {}
    for k, number in enumerate(numbers):
        if number in existing or k % 5 == 4:  # one in five never activates: they get paper
            continue
        month = month_back(int(ACTIVATION_MONTHS * rng.random() ** 1.5))
        day = rng.randint(1, 28)
        when = timezone.make_aware(dt.datetime.combine(month.replace(day=day), dt.time(10, 0)), tz)
        activations[number] = min(when, now - dt.timedelta(hours=2))
    new_citizens = Citizen.objects.bulk_create(
        [
            Citizen(
                national_number=number,
                preferred_language=("fr", "nl", "de", "en")[k % 4],
                email=f"demo{k}@example.be" if number in activations else "",
                email_verified_at=activations.get(number),
                activated_at=activations.get(number),
            )
            for k, number in enumerate(numbers)
            if number not in existing
        ]
    )
    created["citizens"] = len(new_citizens)
    for citizen in new_citizens:
        if citizen.activated_at:
            change = ActivationChange.objects.create(
                citizen=citizen, kind=ActivationChange.Kind.ACTIVATED, actor="demo"
            )
            ActivationChange.objects.filter(pk=change.pk).update(at=citizen.activated_at)
    citizens = list(Citizen.objects.filter(national_number__in=numbers))

    # Campaigns: each organisation writes to some of them on one day of each month.
    apps = {a.application_id: a for a in SenderApplication.objects.select_related("organisation")}
    sealed_ids = []
    batches: list[tuple[list, dt.datetime]] = []
    for index in range(HISTORY_MONTHS):
        month = month_back(HISTORY_MONTHS - 1 - index)
        growth = 1 + 2 * index / max(HISTORY_MONTHS - 1, 1)
        for application_id, base in HISTORY_BASE.items():
            application = apps.get(application_id)
            if application is None or application.organisation.joined_on > month.replace(day=28):
                continue
            count = min(len(citizens), max(1, round(base * growth * rng.uniform(0.8, 1.2))))
            when = timezone.make_aware(
                dt.datetime.combine(month.replace(day=rng.randint(1, 28)), dt.time(9, rng.randint(0, 59))), tz
            )
            if when > now - dt.timedelta(hours=1):
                when = now - dt.timedelta(hours=1)
            recipients = rng.sample(citizens, count)
            message_type = application.organisation.message_types.order_by("message_type_id").first()
            first = publishing.publish_message(
                publishing.NewMessage(
                    sender_application=application,
                    message_type=message_type,
                    recipient_type="citizen",
                    recipient_id=recipients[0].national_number,
                    subject=message_type.name,
                )
            )
            linked = publishing.link_message(first, [("citizen", c.national_number) for c in recipients[1:]])
            ids = [first.id] + [m.id for m in linked]
            # Back-date before sealing: the seal covers the reception and expiration times.
            Message.objects.filter(id__in=ids).update(received_at=when, expires_at=message_type.expiration_from(when))
            MessageEvent.objects.filter(message_id__in=ids).update(at=when)
            # The channel as it was that day: the recipient's activation then, the organisation's transition.
            on_paper_too = application.organisation.in_paper_transition(when.date())
            Message.objects.filter(id__in=ids).update(channel=Message.Channel.PAPER)
            Message.objects.filter(id__in=ids, citizen__activated_at__lte=when).update(
                channel=Message.Channel.DIGITAL_AND_PAPER if on_paper_too else Message.Channel.DIGITAL
            )
            digital = set(
                Message.objects.filter(id__in=ids).exclude(channel=Message.Channel.PAPER).values_list("id", flat=True)
            )
            read_events = []
            for message_id in ids:
                read_at = when + dt.timedelta(days=rng.randint(0, 20), hours=rng.randint(1, 12))
                if read_at < now and rng.random() < (0.75 if message_id in digital else 0.2):
                    Message.objects.filter(id=message_id).update(read_at=read_at)
                    read_events.append(
                        MessageEvent(message_id=message_id, kind=MessageEvent.Kind.READ, at=read_at, actor="citizen")
                    )
            MessageEvent.objects.bulk_create(read_events)
            sealed_ids += ids
            batches.append((ids, when))
    for start in range(0, len(sealed_ids), sealing.SEAL_BATCH):
        sealing.seal_messages(sealed_ids[start : start + sealing.SEAL_BATCH])
        _owe_no_email(sealed_ids[start : start + sealing.SEAL_BATCH])
    # The platform seals within seconds of acceptance; sealed_at is not part of the seal.
    for ids, when in batches:
        sealed_at = when + dt.timedelta(seconds=5)
        Message.objects.filter(id__in=ids).update(sealed_at=sealed_at)
    created["messages"] = len(sealed_ids)
    return created
