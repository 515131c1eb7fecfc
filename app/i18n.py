"""Translation: every string a person sees goes through these functions.

The locale is per request (a context variable set by middleware), so services
can phrase their error messages in the person's language.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

SUPPORTED_LOCALES = ("en", "es")
DEFAULT_LOCALE = "en"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    """Load a catalog straight from its .po file: no compiled .mo to forget to rebuild."""
    path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")


def set_locale(locale: str) -> None:
    _current.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)


def get_locale() -> str:
    return _current.get()


def gettext(message: str, **values: object) -> str:
    text = translations(get_locale()).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    text = translations(get_locale()).ngettext(singular, plural, n)
    return text % {"num": n, **values}


_ = gettext


@contextmanager
def using_locale(locale: str | None) -> Iterator[None]:
    """Speak a person's language outside a request (emails, notifications)."""
    token = _current.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


def pick_locale(preferred: str | None, accept_language: str | None) -> str:
    if preferred in SUPPORTED_LOCALES:
        return preferred  # type: ignore[return-value]
    if accept_language:
        ranked = []
        for part in accept_language.split(","):
            piece = part.strip()
            if not piece:
                continue
            tag, _sep, params = piece.partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            ranked.append((quality, tag.strip().lower().split("-")[0]))
        for _quality, language in sorted(ranked, key=lambda item: -item[0]):
            if language in SUPPORTED_LOCALES:
                return language
    return DEFAULT_LOCALE
