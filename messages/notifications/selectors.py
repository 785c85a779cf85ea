"""What the portal and operators read about notification e-mails."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from citizens.models import Citizen
from messages.models import EmailNotification


@dataclass(frozen=True)
class DeliveryProblem:
    """Our e-mails to this address could not be delivered; the citizen should check it."""

    address: str
    failed_at: dt.datetime


def citizens_notification_problem(citizen: Citizen) -> DeliveryProblem | None:
    """The last permanent failure to the citizen's current address, unless an e-mail got through since.

    For the portal to show at login (templates/emails/_delivery_problem_banner.html, context
    variable `notification_problem`). A changed address clears it, already while it waits for
    its confirmation (`pending_email`: the portal then asks to confirm it instead).
    """
    if not citizen.email or citizen.pending_email:
        return None
    failure = (
        EmailNotification.objects.filter(
            citizen=citizen, status=EmailNotification.Status.FAILED, to_address__iexact=citizen.email
        )
        .order_by("-failed_at")
        .values_list("failed_at", flat=True)
        .first()
    )
    if failure is None:
        return None
    delivered_since = EmailNotification.objects.filter(
        citizen=citizen, status=EmailNotification.Status.SENT, sent_at__gt=failure
    ).exists()
    return None if delivered_since else DeliveryProblem(address=citizen.email, failed_at=failure)
