"""Issue 16, demo data and development IdP: a citizen on paper with a postal address, and a first
visit from scratch with any valid national number (the real devidp/server.js, driven over HTTP)."""

from __future__ import annotations

import re

import pytest
import requests

from citizens.models import Citizen
from citizens.selectors import channel_for
from demo.loader import load_demo
from senders.models import Organisation
from tests.portal_support import devidp, oidc_settings  # noqa: F401 - fixtures


@pytest.mark.django_db
def test_load_demo_has_anna_on_paper_with_her_postal_address():
    load_demo()
    anna = Citizen.objects.get(national_number="78110345605")
    assert not anna.is_activated and not anna.is_digital
    assert (anna.street, anna.postcode, anna.city, anna.country) == ("Klötzerbahn 12", "4700", "Eupen", "BE")
    assert channel_for(anna, Organisation.objects.first()) == "paper"


def _login(live_server, number: str) -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    interaction = session.get(f"{live_server.url}/oidc/authenticate/", timeout=20)
    assert re.search(r"/interaction/[\w-]+$", interaction.url), interaction.url
    return session, session.post(interaction.url, data={"national_number": number}, timeout=20)


def test_the_development_idp_lets_an_unknown_valid_number_log_in_as_a_first_time_citizen(
    live_server,
    oidc_settings,  # noqa: F811
    transactional_db,
):
    number = "90022512361"  # valid (mod 97), in no demo account
    assert not Citizen.objects.filter(national_number=number).exists()
    session, landed = _login(live_server, number)
    assert landed.url == f"{live_server.url}/inbox/", landed.url
    citizen = Citizen.objects.get(national_number=number)
    assert citizen.user is not None and not citizen.is_activated
    activate = session.get(f"{live_server.url}/activate/")
    assert activate.status_code == 200 and 'name="consent"' in activate.text
    # A wrong checksum is refused at the IdP's form, which says why; nobody is logged in.
    _, refused = _login(live_server, "90022512362")
    assert refused.status_code == 200 and "not a valid national number" in refused.text
    assert not Citizen.objects.filter(national_number="90022512362").exists()
