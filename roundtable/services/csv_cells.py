"""CSV cells a spreadsheet reads as text, and read back as typed.

A cell starting with = + - @ (or a tab or carriage return) is a formula to Excel, LibreOffice and Google
Sheets: a note or roster name typed as ``=HYPERLINK(...)`` would run in whoever opens the download. Every
CSV the app writes passes its cells through :func:`spreadsheet_cell`, which marks such a cell as text with a
leading apostrophe (OWASP's advice for CSV injection). A cell that already starts with an apostrophe gets
one more, so the mark is reversible: :func:`typed_cell` gives back exactly what was typed when the app reads
a CSV (a roster from a bundle, notes from a session download).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"
_MARKED_STARTS = (*FORMULA_STARTS, TEXT_MARK)


def spreadsheet_cell(value):
    """``value`` as a CSV cell no spreadsheet runs; anything but text, and an empty cell, as it is."""
    if isinstance(value, str) and value.startswith(_MARKED_STARTS):
        return TEXT_MARK + value
    return value


def typed_cell(cell: str) -> str:
    """What :func:`spreadsheet_cell` was given for ``cell`` (a cell it never marked is returned as it is)."""
    if cell.startswith(TEXT_MARK) and cell[1:].startswith(_MARKED_STARTS):
        return cell[1:]
    return cell
