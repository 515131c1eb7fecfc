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

from babel import localedata
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

SUPPORTED_LOCALES = ("en", "es")
DEFAULT_LOCALE = "en"
TRANSLATIONS_DIR = Path(__file__).parent.parent / "translations"

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)
# The language with the browser's region ("en_GB"), for dates and numbers on pages.
_regional: ContextVar[str] = ContextVar("regional_locale", default="")


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


def set_regional_locale(regional: str) -> None:
    """Remember the browser's region for this request ("en_GB", from `pick_regional_locale`)."""
    _regional.set(regional)


def format_locale() -> str:
    """The Babel locale that writes dates on pages: the page's language with the browser's
    region when it has one ("en_GB" writes 6 Dec 2026, "en" Dec 6, 2026, "es" 6 dic 2026)."""
    language = get_locale()
    regional = _regional.get()
    if regional and regional.split("_")[0] == language:
        return regional
    return language


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


def _ranked_tags(accept_language: str) -> list[str]:
    ranked = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag.strip() and quality > 0:
            ranked.append((-quality, index, tag.strip().replace("_", "-")))
    return [tag for _quality, _index, tag in sorted(ranked)]


def _region_of(tag: str) -> str:
    """ "GB" in en-GB, "419" in es-419, "TW" in zh-Hant-TW; "" when the tag names none."""
    for part in tag.split("-")[1:]:
        if (len(part) == 2 and part.isascii() and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            return part.upper()
    return ""


def pick_regional_locale(language: str, accept_language: str | None) -> str:
    """`language` with the region the browser asks for, as a Babel locale ("en_GB"), or "".

    A tag in the same language decides first (en-GB for English); otherwise the region of
    the browser's first choice (a phone set to de-DE reading English gets en_DE), when Babel
    knows that combination."""
    if not accept_language or language not in SUPPORTED_LOCALES:
        return ""
    tags = _ranked_tags(accept_language[:500])
    same = [tag for tag in tags if tag.lower().split("-")[0] == language]
    for tag in same + tags:
        region = _region_of(tag)
        if region and localedata.exists(f"{language}_{region}"):
            return f"{language}_{region}"
    return ""
