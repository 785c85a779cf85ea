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
