"""Measure how much a built report reads as prose rather than pasted notes.

For the Key Themes and Strategic Directions bullets of a report (Markdown from
``roundtable brief build ... -o report.md``) against the notes of its series:

- copied: the share of the bullets' five-word runs that also occur in a note
  (notes as the synthesis reads them: shorthand written out; lead-ins and web
  addresses left out of both sides);
- shorthand, doubled attribution: counts, by the patterns the tests use;
- lead-ins: the share of bullets whose bold lead-in has two to five words;
- sentences: the mean number of sentences per bullet;
- coverage: the share of usable tagged notes (points and actions coded with a Key Themes or
  Strategic Directions theme, with a claim left once compressed and no word of a declined name)
  cited by some bullet of those sections. Questions go to Unanswered Questions, quotes to the
  quotes, resources to Resources: they are not counted. Needs the series, so it is computed by
  building the report in this process (``coverage_of``).

    python bench/brief_prose.py REPORT.md --database sqlite:///roundtable.sqlite --series SLUG [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session as DbSession

from roundtable.models import Note, Series, Session
from roundtable.services.briefs.glossary import clean_note
from roundtable.services.briefs.markdown import split_sections

SHORTHAND_RE = re.compile(r"(?<!\w)(w/|w/o|ppl|b/c|govt|yrs?|\$\$|->)(?!\w)|\s\+\s")
DOUBLED_RE = re.compile(r"(?:described|reported|observed|emphasized|noted|held|proposed|recommended|called for)"
                        r"[^.]{0,3}:\s*(?:An?|The|One|Some|Several)\s+[\w -]{2,30}?(?::|\bsays\b|\bsaid\b)")
_LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)|https?://\S+")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9$%'’-]+", _LINK_RE.sub(" ", text).lower().replace("\\", ""))


def runs(tokens: list[str], n: int = 5) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def bullets(markdown: str) -> list[tuple[str, str]]:
    """``(lead-in, text)`` of every generated bullet in Key Themes and Strategic Directions."""
    sections = split_sections(markdown)
    out = []
    for key in ("key-themes", "strategic-directions"):
        for line in sections.get(key, "").splitlines():
            m = re.match(r"- \[\*\*(.+?):\*\*\]\{#[^}]+\}\s*(.*)", line)
            if m:
                out.append((m.group(1), m.group(2)))
    return out


def measure(markdown: str, notes: list[str]) -> dict:
    found = bullets(markdown)
    note_runs: set[tuple[str, ...]] = set()
    for text in notes:
        note_runs.update(runs(words(clean_note(text)[0])))
        note_runs.update(runs(words(text)))
    total = copied = 0
    for _, text in found:
        for r in runs(words(text)):
            total += 1
            copied += r in note_runs
    body = "\n".join(t for _, t in found)
    sentences = [len(re.findall(r"[.?!](?:\s+(?=[A-Z$\d'‘“])|$)", t)) for _, t in found]
    return {
        "bullets": len(found),
        "copied_five_word_runs": round(copied / total, 3) if total else 0.0,
        "shorthand": len(SHORTHAND_RE.findall(body)),
        "doubled_attribution": len(DOUBLED_RE.findall(body)),
        "lead_ins_2_to_5_words": round(sum(2 <= len(lead.split()) <= 5 for lead, _ in found) / len(found), 3)
        if found else 0.0,
        "sentences_per_bullet": round(sum(sentences) / len(sentences), 2) if sentences else 0.0,
    }


BODY_SECTIONS = ("Key Themes", "Strategic Directions")


def coverage_of(db, series, roundtable) -> dict:
    """Build the report in this process; the share of usable tagged notes its bullets cite."""
    from roundtable.services.briefs import build_brief, gather_brief_context
    from roundtable.services.briefs.synthesis import compress, mentions

    context = gather_brief_context(db, series, "report", roundtable=roundtable)
    document = build_brief(context, template="report", roundtable=roundtable)
    sections = split_sections(document.markdown)
    ids = [i for key in ("key-themes", "strategic-directions")
           for i in re.findall(r"\]\{#([^}]+)\}", sections.get(key, ""))]
    cited = {int(n) for i in ids for n in document.provenance.get(i, [])}
    usable = {n.id for t in context.themes if t.section in BODY_SECTIONS for n in t.all_notes()
              if n.kind in ("point", "action") and compress(n.prose or n.text)
              and not mentions(compress(n.prose or n.text), context.hidden_words)}
    return {"usable_notes": len(usable), "cited_notes": len(usable & cited),
            "coverage": round(len(usable & cited) / len(usable), 3) if usable else 0.0}


def series_notes(url: str, slug: str) -> list[str]:
    with DbSession(create_engine(url)) as db:
        series = db.scalar(select(Series).where(Series.slug == slug))
        if series is None:
            raise SystemExit(f"no series {slug!r} in {url}")
        return list(db.scalars(select(Note.text).join(Session).where(Session.series_id == series.id)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--database", required=True)
    parser.add_argument("--series", required=True)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--coverage", action="store_true", help="also build the report here and count coverage")
    args = parser.parse_args(argv)
    with open(args.report, encoding="utf-8") as f:
        figures = measure(f.read(), series_notes(args.database, args.series))
    if args.coverage:
        from roundtable.app import create_app

        # The app's own configuration (instance folder, environment): its key reads the roster.
        roundtable = create_app({"DATABASE_URL": args.database}).extensions["roundtable"]
        with roundtable.database.session() as db:
            series = db.scalar(select(Series).where(Series.slug == args.series))
            figures.update(coverage_of(db, series, roundtable))
        roundtable.database.dispose()
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:>24}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
