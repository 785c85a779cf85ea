"""factory_boy factories with a fixed seed, so failures reproduce."""

import datetime as dt

import factory
import factory.random
from factory.django import DjangoModelFactory

from citizens.models import Citizen
from senders.models import MessageType, Organisation, SenderApplication

factory.random.reseed_random("ebox")


def _enterprise_number(n: int) -> str:
    base = f"02{n:06d}"
    return f"{base}{97 - int(base) % 97:02d}"


def _national_number(n: int) -> str:
    # Born 1980-01-01..: YYMMDD + 3-digit serial, mod-97 check.
    first9 = f"800101{(n % 997) + 1:03d}" if n < 997 else f"80{(n // 997) % 12 + 1:02d}15{(n % 997) + 1:03d}"
    return f"{first9}{97 - int(first9) % 97:02d}"


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    enterprise_number = factory.Sequence(lambda n: _enterprise_number(n + 1))
    short_name = factory.Sequence(lambda n: {"fr": f"Organisation {n}", "nl": f"Organisatie {n}"})
    category = Organisation.Category.FEDERAL
    region = Organisation.Region.NATIONAL
    joined_on = dt.date(2020, 1, 1)

    class Params:
        in_transition = factory.Trait(paper_transition_until=dt.date.today() + dt.timedelta(days=30))


class SenderApplicationFactory(DjangoModelFactory):
    class Meta:
        model = SenderApplication

    organisation = factory.SubFactory(OrganisationFactory)
    application_id = factory.Sequence(lambda n: f"app-{n}")
    name = factory.Sequence(lambda n: {"fr": f"Application {n}"})


class MessageTypeFactory(DjangoModelFactory):
    class Meta:
        model = MessageType

    organisation = factory.SubFactory(OrganisationFactory)
    message_type_id = factory.Sequence(lambda n: f"type-{n}")
    name = {"fr": "Courrier", "nl": "Brief"}
    validity_number = 1
    validity_unit = MessageType.Unit.YEAR


class CitizenFactory(DjangoModelFactory):
    class Meta:
        model = Citizen

    national_number = factory.Sequence(lambda n: _national_number(n))
    preferred_language = "fr"

    class Params:
        activated = factory.Trait(
            activated_at=factory.LazyFunction(lambda: dt.datetime.now(dt.UTC)),
            email=factory.Sequence(lambda n: f"citizen{n}@example.be"),
            email_verified_at=factory.LazyFunction(lambda: dt.datetime.now(dt.UTC)),
        )
