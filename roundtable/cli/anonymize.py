"""``roundtable anonymize``: the anonymization pipeline on files, without a database.

Used by hand on notes from elsewhere and by the evaluation
(``bench/anonymize_eval.py``). Reads notes one per line, or JSON Lines
objects with a ``text`` field, and writes them back in the same format, one
output line per input line, in order.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from roundtable.application import current_roundtable
from roundtable.errors import ValidationError
from roundtable.cli.note_lines import parse_note_lines
from roundtable.services.anonymize import POLICIES, Anonymizer, load_detectors, load_roster_csv


@click.command("anonymize")
@click.option("--roster", "roster_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Roster CSV: name,aliases,affiliation,role,consent (aliases separated by |).")
@click.option("--policy", type=click.Choice(POLICIES), default="role", show_default=True,
              help="role: 'a legal advocate'; pseudonym: 'Participant C'; redact: '[name]'.")
@click.option("--ner/--no-ner", default=None,
              help="Find names that are not on the roster with spaCy (default: when roundtable[ner] is installed).")
@click.option("--json", "as_json", is_flag=True, help="Write JSON Lines with the detected spans.")
@click.argument("file", type=click.File("rb"), default="-")
@with_appcontext
def anonymize_command(roster_path, policy, ner, as_json, file):
    """Anonymize notes from FILE (or standard input), one per line or JSON Lines.

    A note with nothing to replace comes out byte-identical. In JSON Lines,
    other fields pass through; a speaker field holding a roster name or alias
    becomes that person's role, pseudonym or [name]; a session field keeps
    pseudonyms consistent per session, keyed by this installation's secret. --json adds spans (start, end,
    kind, detector, confidence; offsets in the input text).
    """
    roster = load_roster_csv(roster_path) if roster_path is not None else None
    roundtable = current_roundtable()
    detectors = load_detectors(roundtable, ner=ner)
    if not detectors:
        raise ValidationError("no detectors are installed: reinstall roundtable (its built-in plugins are missing)")
    if ner is None and not any(getattr(d, "name", "") == "ner" for d in detectors):
        click.echo("note: unknown-name detection is off: install roundtable[ner]", err=True)
    anonymizer = Anonymizer(roster, policy, detectors, salt=roundtable.pseudonym_salt("files"))

    raw = file.read()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValidationError(f"line {line}: the input is not UTF-8 text") from None
    lines = content.split("\n")
    ends_with_newline = lines[-1] == ""
    if ends_with_newline:
        lines.pop()

    records = parse_note_lines(lines)
    texts = [r["text"] if r is not None else line for r, line in zip(records, lines)]
    all_spans = anonymizer.detect_many(texts)

    out = sys.stdout.buffer
    written = []
    for line, record, text, spans in zip(lines, records, texts, all_spans):
        session_key = None if record is None else record.get("session")
        if isinstance(session_key, (dict, list)):
            session_key = json.dumps(session_key, sort_keys=True)
        result = anonymizer.apply(text, spans, session_key)
        if record is None:
            if as_json:
                line = json.dumps({"text": result.text, "spans": [s.as_dict() for s in spans]}, ensure_ascii=False)
            elif result.changed:
                line = result.text
            written.append(line)
            continue
        if not line.strip():
            written.append(line)
            continue
        changed = result.changed
        record = dict(record)
        record["text"] = result.text
        speaker = record.get("speaker")
        if isinstance(speaker, str) and speaker.strip():
            replaced = anonymizer.speaker_role(speaker, session_key)
            if replaced != speaker:
                record["speaker"] = replaced
                changed = True
        if as_json:
            record["spans"] = [s.as_dict() for s in spans]
        written.append(json.dumps(record, ensure_ascii=False) if changed or as_json else line)
    payload = "\n".join(written) + ("\n" if ends_with_newline else "")
    out.write(payload.encode("utf-8"))
    out.flush()
