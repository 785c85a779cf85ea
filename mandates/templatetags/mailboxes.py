"""`{% mailbox_switcher %}`: the eBoxes the logged-in person may open, for the header of every page."""

from __future__ import annotations

from django import template

from mandates import selectors

register = template.Library()


@register.inclusion_tag("mandates/_switcher.html", takes_context=True)
def mailbox_switcher(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    person = getattr(user, "citizen", None) if user is not None and user.is_authenticated else None
    if person is None:
        return {"choices": []}
    access = getattr(request, "ebox_access", None) or selectors.current_access(request)
    choices = selectors.mailbox_choices(person)
    # Shown only to someone who may open more than their own eBox.
    return {
        "choices": choices if len(choices) > 1 else [],
        "current": access.mailbox.pk if access else person.pk,
        "csrf_token": context.get("csrf_token"),
    }
