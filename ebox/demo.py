"""Demo data: organisations shaped like Belgian public bodies, demo citizens, sealed messages.

Loaded once by `manage.py load_demo` (and `make run`). The same citizens are the accounts
of the development identity provider (`DEMO_CITIZENS`, read by devidp/).
"""

from __future__ import annotations

import datetime as dt
import io

from django.db import transaction
from django.utils import timezone

from citizens.models import ActivationChange, Citizen
from ebox.pdf import simple_pdf
from messages import services as message_services
from senders.models import MessageType, Organisation, SenderApplication

# National numbers are valid (mod 97) but fictitious.
DEMO_CITIZENS = [
    {
        "national_number": "85073003328",
        "given_name": "Marie",
        "family_name": "Dubois",
        "language": "fr",
        "email": "marie.dubois@example.be",
        "activated": True,
    },
    {
        "national_number": "92041512329",
        "given_name": "Jan",
        "family_name": "Peeters",
        "language": "nl",
        "email": "jan.peeters@example.be",
        "activated": True,
    },
    {
        "national_number": "78110345605",
        "given_name": "Anna",
        "family_name": "Schmitz",
        "language": "de",
        "email": "anna.schmitz@example.be",
        "activated": False,
    },
    {
        "national_number": "03061278952",
        "given_name": "Lucas",
        "family_name": "Martin",
        "language": "fr",
        "email": "",
        "activated": False,
    },
]

DEMO_ORGANISATIONS = [
    {
        "enterprise_number": "0308357159",
        "short_name": {"fr": "SPF Finances", "nl": "FOD Financiën", "de": "FÖD Finanzen", "en": "FPS Finance"},
        "long_name": {
            "fr": "Service public fédéral Finances",
            "nl": "Federale Overheidsdienst Financiën",
            "de": "Föderaler Öffentlicher Dienst Finanzen",
            "en": "Federal Public Service Finance",
        },
        "category": "federal",
        "region": "national",
        "joined_on": dt.date(2018, 3, 1),
        "application": "myminfin",
        "types": [
            (
                "tax-assessment",
                {
                    "fr": "Avertissement-extrait de rôle",
                    "nl": "Aanslagbiljet",
                    "de": "Steuerbescheid",
                    "en": "Tax assessment",
                },
                10,
                "year",
            ),
            ("tax-reminder", {"fr": "Rappel", "nl": "Herinnering", "de": "Erinnerung", "en": "Reminder"}, 1, "year"),
        ],
    },
    {
        "enterprise_number": "0207373429",
        "short_name": {
            "fr": "Ville de Bruxelles",
            "nl": "Stad Brussel",
            "de": "Stadt Brüssel",
            "en": "City of Brussels",
        },
        "category": "municipality",
        "region": "brussels",
        "joined_on": dt.date(2020, 9, 15),
        "paper_transition_until": dt.date.today() + dt.timedelta(days=365),
        "application": "brussels-citizen-services",
        "types": [
            (
                "population-certificate",
                {
                    "fr": "Certificat de composition de ménage",
                    "nl": "Gezinssamenstelling",
                    "de": "Haushaltszusammensetzung",
                    "en": "Household certificate",
                },
                6,
                "month",
            ),
            (
                "municipal-tax",
                {"fr": "Taxe communale", "nl": "Gemeentebelasting", "de": "Gemeindesteuer", "en": "Municipal tax"},
                5,
                "year",
            ),
        ],
    },
    {
        "enterprise_number": "0212001913",
        "short_name": {"fr": "CPAS de Liège", "nl": "OCMW Luik", "de": "ÖSHZ Lüttich", "en": "CPAS of Liège"},
        "category": "cpas",
        "region": "wallonia",
        "joined_on": dt.date(2022, 1, 10),
        "application": "cpas-liege-social",
        "types": [
            (
                "social-decision",
                {
                    "fr": "Décision d'aide sociale",
                    "nl": "Beslissing maatschappelijke hulp",
                    "de": "Sozialhilfebescheid",
                    "en": "Social assistance decision",
                },
                10,
                "year",
            ),
        ],
    },
    {
        "enterprise_number": "0206738078",
        "short_name": {
            "fr": "Service fédéral des Pensions",
            "nl": "Federale Pensioendienst",
            "de": "Föderaler Pensionsdienst",
            "en": "Federal Pension Service",
        },
        "category": "social_security",
        "region": "national",
        "joined_on": dt.date(2019, 5, 20),
        "application": "mypension",
        "types": [
            (
                "pension-statement",
                {
                    "fr": "Relevé de pension",
                    "nl": "Pensioenoverzicht",
                    "de": "Rentenübersicht",
                    "en": "Pension statement",
                },
                2,
                "year",
            ),
        ],
    },
]


def _pdf(title: str, lines: list[str]) -> io.BytesIO:
    return io.BytesIO(simple_pdf(title, lines))


@transaction.atomic
def load_demo() -> dict[str, int]:
    """Create the demo data unless it is there already; returns counts of what was created."""
    created = {"organisations": 0, "citizens": 0, "messages": 0}
    for spec in DEMO_ORGANISATIONS:
        organisation, new = Organisation.objects.get_or_create(
            enterprise_number=spec["enterprise_number"],
            defaults={k: spec[k] for k in ("short_name", "category", "region", "joined_on")}
            | {"long_name": spec.get("long_name", {}), "paper_transition_until": spec.get("paper_transition_until")},
        )
        created["organisations"] += new
        SenderApplication.objects.get_or_create(
            application_id=spec["application"],
            defaults={"organisation": organisation, "name": {"fr": spec["application"], "nl": spec["application"]}},
        )
        for type_id, name, number, unit in spec["types"]:
            MessageType.objects.get_or_create(
                message_type_id=type_id,
                defaults={"organisation": organisation, "name": name, "validity_number": number, "validity_unit": unit},
            )
    for person in DEMO_CITIZENS:
        citizen, new = Citizen.objects.get_or_create(
            national_number=person["national_number"],
            defaults={"preferred_language": person["language"], "email": person["email"]},
        )
        created["citizens"] += new
        if new and person["activated"]:
            now = timezone.now()
            citizen.activated_at = now
            citizen.email_verified_at = now
            citizen.save()
            ActivationChange.objects.create(citizen=citizen, kind=ActivationChange.Kind.ACTIVATED, actor="demo")
    if not SenderApplication.objects.get(application_id="myminfin").messages.exists():
        created["messages"] = _demo_messages()
    return created


def _demo_messages() -> int:
    apps = {a.application_id: a for a in SenderApplication.objects.select_related("organisation")}
    types = {t.message_type_id: t for t in MessageType.objects.all()}
    year = timezone.localdate().year
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    letters = []
    for person in DEMO_CITIZENS:
        nn = person["national_number"]
        name = f"{person['given_name']} {person['family_name']}"
        letters += [
            message_services.NewMessage(
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
                    "iban": "BE39679200300019",
                    "bic": "PCHQBEBB",
                    "reference": {"structured": "+++090/9337/55493+++"},
                },
                attachments=[
                    message_services.AttachmentUpload(
                        file=_pdf(
                            "SPF Finances - Avertissement-extrait de role",
                            [
                                name,
                                f"Exercice d'imposition {year}",
                                "Montant a payer : 412,37 EUR",
                                "Compte : BE39 6792 0030 0019",
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
            message_services.NewMessage(
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
                    message_services.AttachmentUpload(
                        file=_pdf("Ville de Bruxelles - Composition de menage", [name, "1000 Bruxelles"]),
                        file_name="composition-de-menage.pdf",
                        media_type="application/pdf",
                    )
                ],
            ),
            message_services.NewMessage(
                sender_application=apps["cpas-liege-social"],
                message_type=types["social-decision"],
                recipient_type="citizen",
                recipient_id=nn,
                registered_mail=True,
                subject={"fr": "Décision concernant votre demande d'aide", "de": "Entscheidung über Ihren Antrag"},
                attachments=[
                    message_services.AttachmentUpload(
                        file=_pdf("CPAS de Liege - Decision", [name, "Votre demande a ete acceptee."]),
                        file_name="decision.pdf",
                        media_type="application/pdf",
                        main_content=True,
                    )
                ],
            ),
            message_services.NewMessage(
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
    ids = [message_services.publish_message(letter).id for letter in letters]
    message_services.seal_messages(ids)
    return len(ids)
