"""What is kept of what people type: the stored form of any text, and the one check of text fields.

Notes, roster fields, titles, theme fields and session fields are stored in :func:`stored_form`: NFC,
without invisible characters (zero-width spaces and joiners, soft hyphens, direction marks), so that what
a later reader, export or anonymizer sees is what was typed as it looks. A text field is checked by
:func:`clean_line` (or :func:`clean_paragraphs` for the few that keep line breaks): a control character
is refused (a NUL cannot be stored on PostgreSQL, and others garble pages and exports), and so is a value
longer than its column, with a message naming the field; nothing is cut or dropped silently.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from roundtable.errors import ValidationError

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt): invisible by definition.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
_KEPT_CONTROLS = frozenset("\t\n\r")
# Joiners that shape emoji sequences and Indic or Persian words: kept in stored text between two
# non-ASCII characters, where they do that job (matching drops them everywhere).
_JOINERS = frozenset("\u200c\u200d")


def _in_ranges(code: int) -> bool:
    return any(low <= code <= high for low, high in _DEFAULT_IGNORABLE)


@functools.lru_cache(maxsize=4096)
def is_invisible(char: str) -> bool:
    """A character that shows nothing: a format or control character, or a default-ignorable one."""
    if char in _KEPT_CONTROLS:
        return False
    return unicodedata.category(char) in ("Cf", "Cc") or _in_ranges(ord(char))


def stored_form(text: str) -> str:
    """What is stored for a typed text: NFC, without invisible characters (tabs and line breaks stay)."""
    if text.isascii() and not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        return text
    composed = unicodedata.normalize("NFC", text)
    kept = []
    last = len(composed) - 1
    for i, char in enumerate(composed):
        if is_invisible(char):
            if char in _JOINERS and 0 < i < last and not composed[i - 1].isascii() and not composed[i + 1].isascii():
                kept.append(char)
            continue
        kept.append(char)
    stored = "".join(kept)
    return text if stored == text else stored


def _refuse_controls(text: str, what: str) -> None:
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in _KEPT_CONTROLS for c in text):
        raise ValidationError(f"{what} cannot contain control characters")


def _within(text: str, what: str, max_length: int) -> str:
    if len(text) > max_length:
        raise ValidationError(f"{what} can be at most {max_length} characters (this one has {len(text)})")
    return text


def clean_line(value, what: str, max_length: int) -> str:
    """``value`` as one trimmed line as stored, or a ValidationError naming ``what`` ("a name")."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text")
    _refuse_controls(value, what)  # before splitting: str.split() takes some controls for spaces
    return _within(" ".join(stored_form(value).split()), what, max_length)


def clean_paragraphs(value, what: str, max_length: int) -> str:
    """``value`` with its line breaks (a series' description), trimmed and as stored; checked as :func:`clean_line`."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text")
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    _refuse_controls(text, what)
    return _within(stored_form(text).strip(), what, max_length)
