"""Every string a person sees is in the catalogs, and Spanish is complete."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import lexer as jinja_lexer

from app.web.render import TEMPLATES_DIR, jinja

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "pgettext": ((1, "c"), 2)}
METHOD_MAP = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
OPTIONS = {"app/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted() -> set[tuple[str, str | None]]:
    """(msgid, context) of every message; the context is None but for pgettext ("menu")."""
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map=METHOD_MAP, options_map=OPTIONS, keywords=KEYWORDS
    ):
        # A plural entry is keyed by its singular form in the catalog.
        found.add((message if isinstance(message, str) else message[0], context))
    return found


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    path = ROOT / "app" / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def test_every_string_is_translated_to_spanish() -> None:
    catalog = _catalog("es")
    missing, placeholders = [], []
    for msgid, context in sorted(_extracted(), key=lambda pair: (pair[0], pair[1] or "")):
        message = catalog.get(msgid, context=context)
        translated = message.string if message is not None else None
        texts = [t for t in translated if t] if isinstance(translated, tuple) else [translated] if translated else []
        if message is None or not texts or message.fuzzy:
            missing.append(msgid)
            continue
        for text in texts:
            if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(msgid)):
                placeholders.append(msgid)
    assert missing == [], f"{len(missing)} untranslated strings; run `make messages` and translate: {missing[:20]}"
    assert placeholders == [], f"placeholders differ in: {placeholders}"


# Words that are the same in every language (names, units, symbols).
ALLOWED_TEXT = {"Between", "English", "Español", "UTC", "/", "·", "=", "✓", "×", "(", ")", ":", ",", "—", "–"}
VISIBLE_ATTRIBUTES = {"aria-label", "placeholder", "title", "alt", "aria-description", "data-confirm"}


class _TextFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self.texts.append(value)


def _untranslated_text(source: str) -> list[str]:
    # Jinja expressions are replaced by a marker so only literal template text remains.
    literal = []
    for _lineno, token, value in jinja.lex(source):
        literal.append(value if token == jinja_lexer.TOKEN_DATA else " \x00 ")
    finder = _TextFinder()
    finder.feed("".join(literal))
    problems = []
    for text in finder.texts:
        for piece in text.split("\x00"):
            piece = piece.strip()
            rest = " ".join(word for word in piece.split() if word not in ALLOWED_TEXT)
            if re.search(r"[A-Za-zÀ-ÿ]", rest):
                problems.append(piece)
    return problems


def test_templates_have_no_text_outside_translation() -> None:
    problems = {}
    for path in sorted(TEMPLATES_DIR.rglob("*.html")):
        found = _untranslated_text(path.read_text())
        if found:
            problems[str(path.relative_to(TEMPLATES_DIR))] = found
    assert problems == {}


def test_the_checker_catches_bare_text() -> None:
    assert _untranslated_text("<p>Hello there</p>") == ["Hello there"]
    assert _untranslated_text('<input placeholder="Type here">') == ["Type here"]
    assert _untranslated_text("<p>{{ _('Hello') }}</p>") == []


def test_spanish_from_accept_language_and_from_the_setting(web) -> None:
    page = web.get("/signin", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    assert 'lang="es"' in page.text
    assert "Iniciar sesión" in page.text or "Entrar" in page.text
    web.cookies.set("between_lang", "en")
    english = web.get("/signin", headers={"Accept-Language": "es"})
    assert 'lang="en"' in english.text
