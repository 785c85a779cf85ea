"""Demo data definitions: organisations shaped like Belgian public bodies, demo citizens, history volumes.

Plain data only (no models): `demo.loader` creates the rows. The same citizens are the accounts
of the development identity provider (`DEMO_CITIZENS`, written to devidp/ by `devidp_accounts`).
"""

from __future__ import annotations

import datetime as dt

# National numbers are valid (mod 97) but fictitious. Anna (78110345605) has not activated eBox:
# her letters go on paper to the postal address on record (printed by the platform for the federal
# finance service, which has the paper service on), and she can try the first visit and
# activation. Any other valid number logs in at the development IdP as a first-time citizen.
DEMO_CITIZENS = [
    {
        "national_number": "85073003328",
        "given_name": "Marie",
        "family_name": "Dubois",
        "language": "fr",
        "email": "marie.dubois@example.be",
        "activated": True,
        "address": {"street": "Rue de la Loi 16", "postcode": "1000", "city": "Bruxelles", "country": "BE"},
    },
    {
        "national_number": "92041512329",
        "given_name": "Jan",
        "family_name": "Peeters",
        "language": "nl",
        "email": "jan.peeters@example.be",
        "activated": True,
        "address": {"street": "Meir 24", "postcode": "2000", "city": "Antwerpen", "country": "BE"},
    },
    {
        "national_number": "78110345605",
        "given_name": "Anna",
        "family_name": "Schmitz",
        "language": "de",
        "email": "anna.schmitz@example.be",
        "activated": False,
        "address": {"street": "Klötzerbahn 12", "postcode": "4700", "city": "Eupen", "country": "BE"},
    },
    {
        "national_number": "03061278952",
        "given_name": "Lucas",
        "family_name": "Martin",
        "language": "fr",
        "email": "",
        "activated": False,
        "address": {"street": "Place Saint-Lambert 5", "postcode": "4000", "city": "Liège", "country": "BE"},
    },
    # Marie's daughter, born in 2015: Marie opens her eBox under a parent mandate (from the register),
    # which ends by itself on Léa's 18th birthday. Letters of her own, not the four everyone gets.
    {
        "national_number": "15031412316",
        "given_name": "Léa",
        "family_name": "Dubois",
        "language": "fr",
        "email": "",
        "activated": False,
        "letters": False,
        "address": {"street": "Rue de la Loi 16", "postcode": "1000", "city": "Bruxelles", "country": "BE"},
    },
    # The bakery's accountant: no mandate until the director grants one in the portal (the README's walkthrough).
    {
        "national_number": "80051212368",
        "given_name": "Thomas",
        "family_name": "Lambert",
        "language": "fr",
        "email": "thomas.lambert@example.be",
        "activated": True,
        "letters": False,
        "address": {"street": "Avenue Louise 54", "postcode": "1050", "city": "Ixelles", "country": "BE"},
    },
    {
        # A civil servant: administrator of FPS Finance in the sender portal (DEMO_SENDER_ROLES).
        "national_number": "79041212340",
        "given_name": "Sophie",
        "family_name": "Lambert",
        "language": "fr",
        "email": "sophie.lambert@example.be",
        "activated": True,
        "address": {
            "street": "Boulevard du Roi Albert II 33",
            "postcode": "1030",
            "city": "Schaerbeek",
            "country": "BE",
        },
    },
    {
        # A clerk of the CPAS of Liège: sends letters and campaigns and answers replies (DEMO_SENDER_ROLES).
        "national_number": "88061412485",
        "given_name": "Julie",
        "family_name": "Renard",
        "language": "fr",
        "email": "julie.renard@example.be",
        "activated": True,
        "letters": False,
        "address": {"street": "Rue Sainte-Marguerite 8", "postcode": "4000", "city": "Liège", "country": "BE"},
    },
]

# Enterprises with an eBox (citizens.Citizen of kind enterprise). 0990000905 is a valid enterprise
# number unknown to the platform: its letters go on paper.
DEMO_ENTERPRISES = [
    {
        "enterprise_number": "0990000806",
        "name": "Boulangerie Dubois SRL",
        "language": "fr",
        "email": "compta@boulangerie-dubois.example.be",
        "activated": True,
        "address": {"street": "Chaussée de Wavre 120", "postcode": "1050", "city": "Ixelles", "country": "BE"},
    },
]

# Mandates from the official registers (companies' directors, parents): what `import_mandates` loads.
DEMO_MANDATES = [
    {
        "owner_number": "0990000806",
        "owner_name": "Boulangerie Dubois SRL",
        "representative_number": "85073003328",
        "role": "director",
        "scope": "read_and_manage",
        "valid_from": dt.date(2019, 4, 1),
    },
    {
        "owner_number": "15031412316",
        "owner_name": "Léa Dubois",
        "representative_number": "85073003328",
        "role": "parent",
        "scope": "read_and_manage",
        "valid_from": dt.date(2015, 3, 14),
    },
]

# Unknown to the platform (no citizen row, no eBox): the sender supplies the postal address with
# the `paperAddress` extension, and the organisation's paper service prints the letter
# (docs/integrators.md, "a small municipality").
PAPER_ONLY_RECIPIENT = {
    "national_number": "64090324505",
    "paperAddress": {"name": "Luc Janssens", "street": "Grote Markt 1", "postcode": "3000", "city": "Leuven"},
}

# Sender-portal roles the demo gives: (enterprise number, national number, role).
DEMO_SENDER_ROLES = [
    ("0308357159", "79041212340", "administrator"),
    ("0212001913", "88061412485", "sender"),
    ("0212001913", "88061412485", "replies"),
]

# Marie's reply to the CPAS of Liège's decision (its letters allow replies): what Julie reads and answers.
DEMO_CPAS_REPLY = (
    "85073003328",
    "Bonjour, merci pour votre décision. Pouvez-vous me dire à partir de quand l'aide sera versée ?",
)

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
        # The platform prints and posts its letters to recipients who do not read eBox (paper/).
        "paper_service": True,
        "return_address": "SPF Finances, Boulevard du Roi Albert II 33, 1030 Bruxelles",
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
HISTORY_BASE = {
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


def history_national_number(k: int) -> str:
    """A valid (mod 97) but fictitious national number of someone born in the 1950s-1990s."""
    first9 = f"{50 + k % 45:02d}{k % 12 + 1:02d}{k % 28 + 1:02d}{(k * 7) % 990 + 5:03d}"
    return f"{first9}{97 - int(first9) % 97:02d}"
