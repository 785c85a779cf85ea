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
from messages.services import publishing, sealing
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
    created["organisations"] += _create_organisations(DEMO_ORGANISATIONS)
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
                    "iban": "BE39679200300019",
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
    return len(ids)


# --- History for the public statistics -----------------------------------------------
# More organisations (fictitious enterprise numbers), citizens activating month after
# month and campaigns back-dated over the past months, so the charts have something to show.

DEMO_HISTORY_ORGANISATIONS = [
    {
        "enterprise_number": "0990000113",
        "short_name": {
            "fr": "Office national de l'emploi",
            "nl": "Rijksdienst voor Arbeidsvoorziening",
            "de": "Landesamt für Arbeitsbeschaffung",
            "en": "National Employment Office",
        },
        "category": "social_security",
        "region": "national",
        "joined_on": dt.date(2018, 10, 1),
        "application": "onem-documents",
        "types": [
            (
                "unemployment-certificate",
                {
                    "fr": "Attestation de chômage",
                    "nl": "Werkloosheidsattest",
                    "de": "Arbeitslosenbescheinigung",
                    "en": "Unemployment certificate",
                },
                5,
                "year",
            ),
        ],
    },
    {
        "enterprise_number": "0990000212",
        "short_name": {
            "fr": "Service flamand des impôts",
            "nl": "Vlaamse Belastingdienst",
            "de": "Flämischer Steuerdienst",
            "en": "Flemish Tax Agency",
        },
        "category": "regional",
        "region": "flanders",
        "joined_on": dt.date(2019, 2, 1),
        "application": "vlabel-aanslagen",
        "types": [
            (
                "property-tax",
                {
                    "fr": "Précompte immobilier",
                    "nl": "Onroerende voorheffing",
                    "de": "Immobiliensteuervorabzug",
                    "en": "Property tax",
                },
                5,
                "year",
            ),
        ],
    },
    {
        "enterprise_number": "0990000311",
        "short_name": {"fr": "Commune d'Eupen", "nl": "Gemeente Eupen", "de": "Gemeinde Eupen", "en": "Eupen"},
        "category": "municipality",
        "region": "german_speaking",
        "joined_on": dt.date(2021, 6, 1),
        "application": "eupen-buergerdienst",
        "types": [
            (
                "waste-tax",
                {"fr": "Taxe déchets", "nl": "Afvalbelasting", "de": "Müllsteuer", "en": "Waste tax"},
                5,
                "year",
            ),
        ],
    },
    {
        "enterprise_number": "0990000410",
        "short_name": {
            "fr": "Province de Namur",
            "nl": "Provincie Namen",
            "de": "Provinz Namur",
            "en": "Province of Namur",
        },
        "category": "province",
        "region": "wallonia",
        "joined_on": dt.date(2023, 4, 3),
        "application": "namur-province",
        "types": [
            (
                "provincial-tax",
                {"fr": "Taxe provinciale", "nl": "Provinciebelasting", "de": "Provinzsteuer", "en": "Provincial tax"},
                5,
                "year",
            ),
        ],
    },
    {
        "enterprise_number": "0990000509",
        "short_name": {
            "fr": "Fédération Wallonie-Bruxelles",
            "nl": "Federatie Wallonië-Brussel",
            "de": "Föderation Wallonie-Brüssel",
            "en": "Wallonia-Brussels Federation",
        },
        "category": "community",
        "region": "wallonia",
        "joined_on": dt.date(2024, 9, 2),
        "application": "fwb-allocations",
        "types": [
            (
                "study-allowance",
                {
                    "fr": "Allocation d'études",
                    "nl": "Studietoelage",
                    "de": "Studienbeihilfe",
                    "en": "Study allowance",
                },
                2,
                "year",
            ),
        ],
    },
    {
        "enterprise_number": "0990000608",
        "short_name": {"fr": "Ville de Gand", "nl": "Stad Gent", "de": "Stadt Gent", "en": "City of Ghent"},
        "category": "municipality",
        "region": "flanders",
        "joined_on": dt.date(2026, 2, 16),
        "paper_transition_until": dt.date(2027, 2, 15),
        "application": "gent-loket",
        "types": [
            (
                "parking-permit",
                {
                    "fr": "Carte de stationnement",
                    "nl": "Bewonerskaart",
                    "de": "Parkausweis",
                    "en": "Parking permit",
                },
                1,
                "year",
            ),
        ],
    },
]

HISTORY_MONTHS = 24
# Citizens activated over this many months, more of them recently.
ACTIVATION_MONTHS = 30
HISTORY_CITIZENS = 120
# Letters per organisation in the oldest month; volumes grow towards today.
_HISTORY_BASE = {
    "myminfin": 5,
    "mypension": 2,
    "brussels-citizen-services": 2,
    "cpas-liege-social": 1,
    "onem-documents": 3,
    "vlabel-aanslagen": 4,
    "eupen-buergerdienst": 1,
    "namur-province": 2,
    "fwb-allocations": 2,
    "gent-loket": 3,
}


def _history_national_number(k: int) -> str:
    """A valid (mod 97) but fictitious national number of someone born in the 1950s-1990s."""
    first9 = f"{50 + k % 45:02d}{k % 12 + 1:02d}{k % 28 + 1:02d}{(k * 7) % 990 + 5:03d}"
    return f"{first9}{97 - int(first9) % 97:02d}"


def _create_organisations(specs: list[dict]) -> int:
    created = 0
    for spec in specs:
        organisation, new = Organisation.objects.get_or_create(
            enterprise_number=spec["enterprise_number"],
            defaults={k: spec[k] for k in ("short_name", "category", "region", "joined_on")}
            | {"long_name": spec.get("long_name", {}), "paper_transition_until": spec.get("paper_transition_until")},
        )
        created += new
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
    import random

    from messages.models import Message, MessageEvent

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
    numbers = [_history_national_number(k) for k in range(HISTORY_CITIZENS)]
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
        for application_id, base in _HISTORY_BASE.items():
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
    # The platform seals within seconds of acceptance; sealed_at is not part of the seal.
    for ids, when in batches:
        sealed_at = when + dt.timedelta(seconds=5)
        Message.objects.filter(id__in=ids).update(sealed_at=sealed_at)
    created["messages"] = len(sealed_ids)
    return created
