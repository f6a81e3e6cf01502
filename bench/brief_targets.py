"""Check every target of the policy report (issue 16) on a series, and print a pass/fail table.

Builds the series' report in this process (Markdown, then the PDF, timed) and checks:

- the nine sections in order (Executive Summary ... Acknowledgments);
- every web address in the series' notes and resources (as the report reads them from a note: a backtick
  or a closing quotation mark ends one) listed under Resources, once per normalized address, in at least three
  headed groups (``###`` headings with a link under them; "n/a" when the notes hold no address);
- in Key Themes and Strategic Directions: no note shorthand (a bullet the glossary,
  ``services/briefs/glossary.py`` with the series' own additions, would still rewrite), no doubled
  attribution ("A funder emphasized: A funder: ..."), and at least 90 % of bullets opening on a bold
  lead-in of two to five words (every bullet counts, with a lead-in or without);
- no non-consenting person's name, alias or name part in the PDF's text (``pdftotext``), compared
  case-insensitively as whole words. A name word the series' own notes use in lower case ("will",
  "hope") cannot be told from the word case-insensitively: it is listed apart and checked
  capitalized, away from a sentence start;
- 10 to 20 pages;
- build time of this series' PDF (wall and process CPU) within 10 s. The 1.5x-WeasyPrint target
  is measured on the 2,000-note benchmark by ``bench/brief_build.py``, not here.

Sets: ``demo`` (the bundled sanctuary demo), ``dev`` (18F guides looked at while working, built as in
``bench/brief_heldout.py``), ``heldout`` (18F guides nobody here reads: run once, at the end).

    python bench/brief_targets.py --set demo [--json] [--keep DIR]
    python bench/brief_targets.py --set dev
    python bench/brief_targets.py --set heldout        # once; its reports are not to be read
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from brief_prose import DOUBLED_RE  # noqa: E402

SECTIONS = ["Executive Summary", "Key Findings", "Strategic Implications", "Introduction", "Key Themes",
            "Strategic Directions", "Unanswered Questions and Future Directions", "Resources and Partners",
            "Acknowledgments"]
BODY = ("key-themes", "strategic-directions")
URL_RE = re.compile(r"https?://[^\s)\]>\"'<]+")
LEAD_IN_RE = re.compile(r"^(?:\[)?\*\*(.+?):?\*\*")
# Name parts that are not names on their own.
PARTICLES = {"van", "der", "den", "de", "la", "le", "da", "di", "del", "dos", "das", "el", "al", "bin", "ibn", "i",
             "y", "ms", "mr", "mrs", "dr", "thi", "ní", "mac", "st"}
SETS = {"demo": ["demo"], "dev": ["product", "ux-guide", "engineering"],
        "heldout": ["derisking", "content-guide", "methods", "accessibility"]}
PAGES = (10, 20)
LEAD_IN_SHARE = 0.90
BUILD_S = 10.0


def body_bullets(markdown: str) -> list[str]:
    """The text of every top-level bullet of Key Themes and Strategic Directions."""
    from roundtable.services.briefs.markdown import split_sections

    sections = split_sections(markdown)
    return [line[2:] for key in BODY for line in sections.get(key, "").splitlines() if line.startswith("- ")]


def lead_in(bullet: str) -> str:
    m = LEAD_IN_RE.match(bullet)
    return " ".join(m.group(1).rstrip(":").split()) if m else ""


def shorthand_left(text: str, glossary: dict) -> list[str]:
    """Words of ``text`` the glossary would still write out (links and their addresses left aside)."""
    from roundtable.services.briefs.glossary import expand_shorthand

    plain = re.sub(r"\[([^\]]*)\]\([^)]*\)|https?://\S+|\{#[^}]*\}|[*\\]", " ", text)
    plain = " ".join(plain.split())
    before, after = plain.split(), expand_shorthand(plain, glossary).split()
    if before == after:
        return []
    import difflib

    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    return [" ".join(before[i1:i2]) for op, i1, i2, _, _ in matcher.get_opcodes() if op != "equal"]


def name_words(people, notes: list[str]) -> tuple[set[str], set[str]]:
    """Non-consenting names, aliases and name parts, lower-cased; and those the notes use as a lower-case
    word (checked capitalized only)."""
    words = set()
    for person in people:
        if person.consent_named:
            continue
        for name in [person.name, *(person.aliases or [])]:
            name = " ".join(name.split())
            if len(name) >= 3:
                words.add(name.lower())
            words.update(w.lower() for w in re.split(r"[\s\-.]+", name) if len(w) >= 3 and w.lower() not in PARTICLES)
    consenting = {w.lower() for p in people if p.consent_named for n in [p.name, *(p.aliases or [])]
                  for w in [n, *re.split(r"[\s\-.]+", n)]}
    words -= consenting  # a part shared with a credited person ("Grace") is theirs to show
    lower_in_notes = {w for w in words if " " not in w and any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", n)
                                                                for n in notes)}
    return words - lower_in_notes, lower_in_notes


def names_in_text(text: str, strict: set[str], common: set[str]) -> dict[str, int]:
    found = {}
    for w in sorted(strict):
        n = len(re.findall(rf"(?<!\w){re.escape(w)}(?!\w)", text, re.I))
        if n:
            found[w] = n
    for w in sorted(common):
        # Capitalized and not opening a sentence: a name, not the word.
        cap = w[:1].upper() + w[1:]
        n = len(re.findall(rf"(?<![.!?:\n]\s)(?<![.!?:\n])(?<=\s){re.escape(cap)}(?!\w)", text))
        if n:
            found[cap] = n
    return found


def check(db, series, roundtable, workdir: Path, label: str) -> dict:
    """Build ``series``' report (Markdown, then the PDF, timed) and check each target."""
    from sqlalchemy import select

    from roundtable.models import Note, Participant, Resource, Session
    from roundtable.services.briefs import export_brief
    from roundtable.services.briefs.markdown import extract_urls, url_key

    settings = series.brief_settings or {}
    glossary = {str(k): str(v) for k, v in (settings.get("glossary") or {}).items()}
    notes = list(db.scalars(select(Note.text).join(Session).where(Session.series_id == series.id,
                                                                   Note.deleted_at.is_(None))))
    people = list(db.scalars(select(Participant).where(Participant.series_id == series.id)))
    resource_urls = list(db.scalars(select(Resource.url).where(Resource.series_id == series.id)))
    # The first build loads the models once; the PDF build after it is the one timed.
    markdown = export_brief(db, series, fmt="md", roundtable=roundtable)[0].decode("utf-8")
    start, cpu = time.perf_counter(), time.process_time()
    data = export_brief(db, series, fmt="pdf", roundtable=roundtable)[0]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    md, pdf = workdir / f"{label}.md", workdir / f"{label}.pdf"
    md.write_text(markdown, encoding="utf-8")
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))

    headings = re.findall(r"^## (.+)$", markdown, re.M)
    resources = markdown.split("## Resources and Partners", 1)[-1].split("\n## ", 1)[0]
    urls = {u for t in [*notes, *resource_urls] for u in extract_urls(t)}
    # Listed when its address, normalized as the report lists each link once (host and path, no trailing
    # slash: ".../checker//" is ".../checker/"), is a link target under Resources.
    listed = {url_key(unquote(u)) for u in re.findall(r"\]\((https?://[^)\s]+)\)", resources)}
    missing = sorted(u for u in urls if url_key(u) not in listed)
    groups = [g.splitlines()[0] for g in re.split(r"^### ", resources, flags=re.M)[1:] if URL_RE.search(g)]
    bullets = body_bullets(markdown)
    shorthand = {b[:60]: s for b in bullets if (s := shorthand_left(b, glossary))}
    doubled = [b[:80] for b in bullets if DOUBLED_RE.search(b)]
    leads = [lead_in(b) for b in bullets]
    good_leads = sum(2 <= len(w.split()) <= 5 for w in leads)
    share = good_leads / len(bullets) if bullets else 0.0
    strict, common = name_words(people, notes)
    names = names_in_text(text, strict, common)
    checks = {
        "nine sections in order": ([h for h in headings if h in SECTIONS] == SECTIONS,
                                   " / ".join(h for h in headings)),
        "every resource URL listed": (not missing, f"{len(urls) - len(missing)} of {len(urls)}"
                                      + (f"; missing {missing[:3]}" if missing else "")),
        # A series whose notes hold no web address has nothing to group (n/a); two addresses can fill two groups.
        ">= 3 headed resource groups": (len(groups) >= min(3, len(urls)) if urls else None,
                                        f"{len(groups)}: {', '.join(groups)}"),
        "no note shorthand": (not shorthand, f"{sum(map(len, shorthand.values()))} in {len(bullets)} bullets"
                              + (f": {sorted({w for s in shorthand.values() for w in s})[:8]}" if shorthand else "")),
        "no doubled attribution": (not doubled, f"{len(doubled)}" + (f": {doubled[:2]}" if doubled else "")),
        ">= 90% bold lead-ins of 2-5 words": (share >= LEAD_IN_SHARE, f"{good_leads}/{len(bullets)} = {share:.3f}"
                                               + (f"; e.g. {[w for w in leads if not 2 <= len(w.split()) <= 5][:4]}"
                                                  if good_leads < len(bullets) else "")),
        "no non-consenting name in PDF": (not names, (f"found {names}" if names else "none")
                                          + f" ({len(strict)} names checked case-insensitively; {len(common)} also"
                                          f" lower-case words in the notes, checked capitalized: {sorted(common)})"),
        "10-20 pages": (PAGES[0] <= pages <= PAGES[1], str(pages)),
        "PDF build <= 10 s": (wall <= BUILD_S, f"{wall:.1f} s wall, {cpu:.1f} s CPU"),
    }
    return {"set_label": label, "notes": len(notes), "bullets": len(bullets), "pages": pages,
            "build_pdf_wall_s": round(wall, 2), "build_pdf_cpu_s": round(cpu, 2),
            "checks": {k: {"pass": ok if ok is None else bool(ok), "detail": detail} for k, (ok, detail) in checks.items()},
            "all_pass": all(ok is not False for ok, _ in checks.values())}


def run(name: str, workdir: Path) -> dict:
    """A fresh SQLite database with the series ``name`` (``demo`` or an 18F guide), checked."""
    from roundtable.application import Roundtable

    db_path = workdir / f"{name}.sqlite"
    db_path.unlink(missing_ok=True)
    roundtable = Roundtable({"SECRET_KEY": "target bench", "DATABASE_URL": f"sqlite:///{db_path}"})
    try:
        if name == "demo":
            from roundtable.cli.demo import load_demo

            series_id = load_demo(roundtable).id
        else:
            from brief_heldout import make_series

            roundtable.database.upgrade()
            with roundtable.database.session() as db:
                series_id = make_series(db, name, roundtable)[0].id
        with roundtable.database.session() as db:
            from roundtable.models import Series

            return check(db, db.get(Series, series_id), roundtable, workdir, name)
    finally:
        roundtable.database.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), required=True)
    parser.add_argument("--only", action="append", default=[], help="one series of the set (repeatable)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, help="write the databases, Markdown and PDFs into this folder")
    args = parser.parse_args(argv)
    names = [n for n in SETS[args.set] if not args.only or n in args.only]
    if not names:
        parser.error(f"--only names none of {SETS[args.set]}")
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = {name: run(name, workdir) for name in names}
    if args.json:
        print(json.dumps({"set": args.set, "load_average": load, "series": results}))
        return 0
    print(f"set: {args.set} (load average {' '.join(load)})")
    for name, result in results.items():
        print(f"\n{name}: {result['notes']} notes, {result['bullets']} body bullets"
              f" -> {'ALL PASS' if result['all_pass'] else 'FAIL'}")
        for target, c in result["checks"].items():
            verdict = "n/a" if c["pass"] is None else "pass" if c["pass"] else "FAIL"
            print(f"  {verdict:<4}  {target:<36} {c['detail']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
