"""One-line text fields people type (roster names, aliases, affiliations, roles): one check for all of them.

Whitespace runs become one space and invisible characters go (as in notes); what is left may hold no control character (a NUL cannot be stored on
PostgreSQL, and others garble pages and exports) and no more characters than the field's column allows.
"""

from __future__ import annotations

import unicodedata

from roundtable.errors import ValidationError
from roundtable.services.anonymize.normalize import stored_form


def clean_line(value, what: str, max_length: int) -> str:
    """``value`` as one trimmed line, or a ValidationError naming ``what`` ("a name")."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text")
    line = " ".join(value.split())
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in line):
        raise ValidationError(f"{what} cannot contain control characters")
    line = " ".join(stored_form(line).split())  # NFC, without invisible characters, as notes are stored
    if len(line) > max_length:
        raise ValidationError(f"{what} can be at most {max_length} characters (this one has {len(line)})")
    return line
