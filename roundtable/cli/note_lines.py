"""Notes on the command line: one per line, or JSON Lines objects with a ``text`` field."""

from __future__ import annotations

import json

from roundtable.errors import ValidationError


def json_record(line: str) -> dict | None:
    """The line as a JSON object with a string ``text``, or ``None``."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return value
    return None


def parse_note_lines(lines: list[str]) -> list[dict | None]:
    """JSON Lines when the first non-blank line is an object with a text field (a record per
    line, blank lines as ``{"text": line}``); plain notes otherwise (``None`` per line)."""
    first = next((line for line in lines if line.strip()), None)
    if first is None or json_record(first) is None:
        return [None] * len(lines)
    records: list[dict | None] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            records.append({"text": line})
            continue
        record = json_record(line)
        if record is None:
            raise ValidationError(f"line {number}: expected a JSON object with a string 'text' field")
        records.append(record)
    return records
