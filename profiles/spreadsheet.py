"""CSV cells that a spreadsheet would run as a formula are written as text ("CSV injection").

A name, a note or a code typed by a person can start with `=`, `+`, `-` or `@`; opened in a spreadsheet,
such a cell runs as a formula (and can reach the network). Every CSV download writes its text cells
through `spreadsheet_safe`, which puts an apostrophe in front of them, as OWASP advises. Plain numbers
(a negative gap, "-2.7") are left as they are: a spreadsheet reads them as numbers, not formulas.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe(text: str) -> str:
    if text[:1] in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
