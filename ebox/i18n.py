"""Translated strings as the eBox spec has them: {"fr": ..., "nl": ..., "de": ..., "en": ...}."""

from __future__ import annotations

from django.utils.translation import get_language

CONTENT_LANGUAGES = ("fr", "nl", "de", "en")


def pick_language(available: list[str] | tuple[str, ...], wanted: str | None = None) -> str | None:
    """The language to show: the wanted one when available, else the first of fr, nl, de, en."""
    wanted = (wanted or get_language() or "fr")[:2]
    if wanted in available:
        return wanted
    for language in CONTENT_LANGUAGES:
        if language in available:
            return language
    return next(iter(available), None)


def translate(value: dict | None, wanted: str | None = None) -> str:
    """The text of a translated string in the wanted language, else another one."""
    if not value:
        return ""
    language = pick_language([k for k, v in value.items() if v], wanted)
    return value.get(language, "") if language else ""


class Text(str):
    """A message in English (its value: what the API answers) that can be shown translated later.

    `template` is the gettext msgid, `params` its %-placeholders: kept as data (a campaign's
    stored errors), the page renders `translated_text(template, params)` in the reader's language.
    """

    template: str
    params: dict

    def __new__(cls, template: str, **params: object) -> Text:
        text = super().__new__(cls, template % params if params else template)
        text.template, text.params = template, params
        return text


def translated_text(template: str, params: dict | None = None) -> str:
    """`template` (a msgid) in the active language, its placeholders filled (the English if it fails)."""
    from django.utils.translation import gettext

    try:
        return gettext(template) % params if params else gettext(template)
    except (KeyError, TypeError, ValueError):  # a catalogue entry with a wrong placeholder
        return template % params if params else template


def localized(message: str) -> str:
    """A validator's message in the active language: a Text translated, any other string as is."""
    if isinstance(message, Text):
        return translated_text(message.template, message.params)
    return message
