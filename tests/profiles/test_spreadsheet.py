"""Text that a spreadsheet would run as a formula is written as text; plain numbers stay numbers."""

from __future__ import annotations

import pytest

from profiles.spreadsheet import spreadsheet_safe


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("-2.7", "-2.7"),
        ("+3", "+3"),
        ("-1e3", "-1e3"),
        ("Ana Díaz", "Ana Díaz"),
        ("", ""),
        ("5.NF.1", "5.NF.1"),
    ],
)
def test_formulas_become_text_and_numbers_stay(text: str, written: str) -> None:
    assert spreadsheet_safe(text) == written
