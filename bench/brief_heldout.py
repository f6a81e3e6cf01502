"""Check the policy report's targets on a series built from text nobody here wrote.

The notes are one report of 18F's guides (public domain, CC0; ``bench/data/guides``, built by
``bench/make_guides_set.py``): each note a sentence or bullet of the guide, labelled with the
heading it was written under, cut into five "sessions" in reading order. The codebook's first
chapter becomes Key Themes, its second Strategic Directions. A roster of invented people who
declined to be named is added, so the name check has something to find. Notes enter through the
import path (``services/note_import``), anonymized like notes typed up after a session.

    python bench/brief_heldout.py --report product            # dev: looked at while working
    python bench/brief_heldout.py --set heldout [--json]       # derisking, content-guide, methods,
                                                               # accessibility: run once

``accessibility`` (18F's accessibility guide, same licence) keeps each link's web address in its
note, so "every web address under Resources, in at least three headed groups" is checked on
held-out text; the other guides' notes hold no addresses.

For each report: the nine sections in order; every web address in the notes listed under
Resources, in at least three headed groups; in Key Themes and Strategic Directions no note
shorthand, no doubled attribution, at least 90 % of bullets with a bold lead-in of two to five
words; no declined person's name in the PDF's text (case-insensitive); 10 to 20 pages; the share
of five-word runs copied from notes; the share of usable tagged notes some bullet cites
(``brief_prose.coverage_of``); build time (wall and CPU).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "guides"
sys.path.insert(0, str(HERE))

from brief_prose import coverage_of, measure  # noqa: E402
from brief_sentences import _nlp, check, counts, sentence_total  # noqa: E402

SECTIONS = ["Executive Summary", "Key Findings", "Strategic Implications", "Introduction", "Key Themes",
            "Strategic Directions", "Unanswered Questions and Future Directions", "Resources and Partners",
            "Acknowledgments"]
DECLINED = ["Oswin Thistlebrook", "Marguerite Oyelaran-Voss", "Teodor Hallgrimsson"]
URL_RE = re.compile(r"https?://[^\s)\]>\"']+")
SETS = {"dev": ["product", "ux-guide", "engineering"],
        "heldout": ["derisking", "content-guide", "methods", "accessibility"]}


def load(report: str) -> tuple[list[dict], dict]:
    rows = []
    for part in ("dev", "heldout", "heldout-links"):
        with open(DATA / f"{part}.jsonl", encoding="utf-8") as f:
            rows += [r for r in map(json.loads, f) if r["report"] == report]
    with open(DATA / "codebooks" / f"{report}.yaml", encoding="utf-8") as f:
        codebook = yaml.safe_load(f)
    return rows, codebook


def make_series(db, report: str, roundtable):
    from roundtable.models import Participant, Series, Session, SessionState, Theme
    from roundtable.services.note_import import ImportedNote, import_notes

    rows, codebook = load(report)
    chapters = list(dict.fromkeys(t["section"] for t in codebook["themes"]))
    section_of = {c: ("Key Themes" if i == 0 else "Strategic Directions") for i, c in enumerate(chapters)}
    series = Series(slug=f"guides-{report}", title=f"18F guides: {report}", subtitle="A held-out series",
                    description="", organizations=["18F"], authors=["Report Author"],
                    acknowledgments="Convened by the coordinating team.", participant_count=40)
    db.add(series)
    db.flush()
    sessions = {}
    for n in range(1, 6):
        sessions[n] = Session(series_id=series.id, number=n, title=f"Session {n}", date=date(2026, n, 10),
                              focus="", state=SessionState.CLOSED)
        db.add(sessions[n])
    for name in DECLINED:
        db.add(Participant(series_id=series.id, name=name, role_label="participant", consent_named=False))
    db.flush()
    themes = {}
    for position, t in enumerate(codebook["themes"]):
        theme = Theme(series_id=series.id, name=t["name"], description=t.get("description") or "",
                      section=section_of[t["section"]], position=position)
        db.add(theme)
        db.flush()
        themes[t["name"]] = theme
        for j, child in enumerate(t.get("children") or []):
            db.add(Theme(series_id=series.id, parent_id=theme.id, name=child["name"],
                         section=section_of[t["section"]], position=j))
    db.flush()
    # Through the import path, as notes typed up after a session: anonymized, then tagged by hand.
    stored = []
    for n, meeting in sessions.items():
        batch = [ImportedNote(line=i, text=r["text"], kind="question" if r["text"].rstrip().endswith("?") else "point",
                              theme=r["theme"] if r["theme"] in themes else None)
                 for i, r in enumerate((r for r in rows if r["session"] == n), 1)]
        stored += [note.text for note, _ in import_notes(db, meeting, batch, roundtable=roundtable)]
    db.commit()
    return series, stored


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS))
    parser.add_argument("--report", action="append", default=[])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", help="write the databases and reports into this folder")
    parser.add_argument("--markdown-only", action="store_true",
                        help="build the Markdown and read its sentences; no PDF (pages, names and build time)")
    args = parser.parse_args(argv)
    reports = args.report + (SETS[args.set] if args.set else [])
    if not reports:
        parser.error("name --set or --report")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for report in reports:
            results[report] = run(report, workdir, pdf=not args.markdown_only)
    if args.json:
        print(json.dumps(results))
    else:
        for report, figures in results.items():
            print(report)
            for k, v in figures.items():
                print(f"  {k:>28}: {v}")
    return 0


def run(report: str, workdir: Path, pdf: bool = True) -> dict:
    """Build the report's series into SQLite, export Markdown and PDF in this process, measure."""
    from roundtable.application import Roundtable
    from roundtable.models import Base
    from roundtable.services.briefs import export_brief

    db_path = workdir / f"{report}.sqlite"
    db_path.unlink(missing_ok=True)
    roundtable = Roundtable({"SECRET_KEY": "held-out bench", "DATABASE_URL": f"sqlite:///{db_path}"})
    Base.metadata.create_all(roundtable.database.engine)
    with roundtable.database.session() as db:
        series, texts = make_series(db, report, roundtable)
        # The first build loads the models (spaCy, MiniLM) once; the PDF build after it is timed.
        markdown = export_brief(db, series, fmt="md", roundtable=roundtable)[0].decode("utf-8")
        coverage = coverage_of(db, series, roundtable)
        if not pdf:
            roundtable.database.dispose()
            (workdir / f"{report}.md").write_text(markdown, encoding="utf-8")
            return {"notes": len(texts), **measure(markdown, texts), **sentence_faults(markdown), **coverage}
        start, cpu = time.perf_counter(), time.process_time()
        data = export_brief(db, series, fmt="pdf", roundtable=roundtable)[0]
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    roundtable.database.dispose()
    md, pdf = workdir / f"{report}.md", workdir / f"{report}.pdf"
    md.write_text(markdown, encoding="utf-8")
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                               text=True).stdout).group(1))
    headings = re.findall(r"^## (.+)$", markdown, re.M)
    resources = markdown.split("## Resources and Partners", 1)[-1].split("\n## ", 1)[0]
    urls = {u.rstrip(".,;:") for t in texts for u in URL_RE.findall(t)}
    groups = [g for g in re.split(r"^### ", resources, flags=re.M)[1:] if URL_RE.search(g)]
    words = {w.lower() for name in DECLINED for w in name.replace("-", " ").split()}
    figures = {
        "notes": len(texts),
        "nine_sections_in_order": [h for h in headings if h in SECTIONS] == SECTIONS,
        "urls_in_notes": len(urls),
        "urls_listed": sum(u in resources for u in urls),
        "resource_groups": len(groups),
        "declined_name_words_in_pdf": sorted(w for w in words if re.search(rf"\b{re.escape(w)}\b", text, re.I)),
        "pages": pages,
        "build_pdf_wall_s": round(wall, 1),
        "build_pdf_cpu_s": round(cpu, 1),
    }
    figures.update(measure(markdown, texts))
    figures.update(sentence_faults(markdown))
    figures.update(coverage)
    return figures


def sentence_faults(markdown: str) -> dict:
    """``bench/brief_sentences.py``'s counts, prefixed ``sentences_``."""
    found = counts(check(markdown, _nlp()), sentence_total(markdown))
    return {f"sentences_{k}" if k != "sentences" else "sentences": v for k, v in found.items()}


if __name__ == "__main__":
    sys.exit(main())
