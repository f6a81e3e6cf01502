"""``roundtable tag``: theme suggestions for notes in a file, without a database.

Used by hand and by the evaluation (``bench/tagging_eval.py``). Reads notes one
per line, or JSON Lines objects with a ``text`` field, and writes one JSON
object per input line, in order: the note's fields plus ``suggestions``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from roundtable.application import current_roundtable
from roundtable.cli.note_lines import parse_note_lines
from roundtable.errors import ValidationError
from roundtable.services.codebook import load_codebook_file
from roundtable.services.tagging import DEFAULT_TOP, LEVELS, suggest_per_section, suggest_themes
from roundtable.types import Example


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValidationError(f"{what} line {line}: not UTF-8 text") from None


def read_notes(content: str) -> list[dict]:
    """One record per input line: JSON Lines objects (when the first line is one) or ``{"text": line}``."""
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [record if record is not None else {"text": line.rstrip("\r")}
            for line, record in zip(lines, parse_note_lines(lines))]


def read_examples(path: Path) -> list[Example]:
    """Coded notes: JSON Lines with ``text`` and ``theme`` (or ``themes``, a list), optionally ``session``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"examples: cannot read {path}: {exc.strerror}") from None
    examples = []
    for number, line in enumerate(_decode(raw, "examples").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        themes = None
        if isinstance(value, dict) and isinstance(value.get("text"), str):
            themes = value.get("themes", [value["theme"]] if "theme" in value else None)
        if not isinstance(themes, list) or not themes or not all(isinstance(t, str) for t in themes):
            raise ValidationError(f"examples line {number}: expected a JSON object with 'text' and 'theme'")
        session = value.get("session")
        if session is not None and (not isinstance(session, (int, str)) or isinstance(session, bool)):
            raise ValidationError(f"examples line {number}: 'session' must be a number or a name")
        examples.extend(Example(value["text"], t, session) for t in themes)
    return examples


@click.command("tag")
@click.option("--codebook", "codebook_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Codebook YAML (themes: name, description, keywords, color, section, children) or REFI-QDA .qdc.")
@click.option("--suggester", default="lexical", show_default=True, help="lexical, semantic, or a plugin's suggester.")
@click.option("--top", "top", default=DEFAULT_TOP, show_default=True, type=click.IntRange(1, 100),
              help="How many suggestions per note.")
@click.option("--level", type=click.Choice(LEVELS), default="top", show_default=True,
              help="Suggest top-level themes or sub-themes.")
@click.option("--examples", "examples_path", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON Lines of already-coded notes ({'text': ..., 'theme': ..., 'session': ...}) to learn from.")
@click.option("--per-section", is_flag=True,
              help="The best theme of each codebook section, with its section (--top does not apply).")
@click.argument("file", type=click.File("rb"), default="-")
@with_appcontext
def tag_command(codebook_path, suggester, top, level, examples_path, per_section, file):
    """Suggest themes for notes in FILE (or standard input), one per line or JSON Lines.

    Writes one JSON object per input line, in order: the note's fields plus
    ``suggestions``, a list of {"theme": NAME, "score": FLOAT}, best first; with
    --per-section, one {"section": ..., "theme": ..., "score": ...} per section.
    """
    codebook = load_codebook_file(codebook_path)
    examples = read_examples(examples_path) if examples_path is not None else []
    records = read_notes(_decode(file.read(), "input"))
    texts = [r["text"] for r in records]
    wanted = [i for i, t in enumerate(texts) if t.strip()]
    chosen = [texts[i] for i in wanted]
    roundtable = current_roundtable()
    if not wanted:
        ranked = []
    elif per_section:
        ranked = suggest_per_section(chosen, codebook, suggester, examples=examples, level=level, roundtable=roundtable)
    else:
        ranked = suggest_themes(chosen, codebook, suggester, examples=examples, top=top, level=level,
                                roundtable=roundtable)
    by_index = dict(zip(wanted, ranked))
    for i, record in enumerate(records):
        suggestions = [s.to_dict() for s in by_index.get(i, [])]
        click.echo(json.dumps({**record, "suggestions": suggestions}, ensure_ascii=False))
