"""Benchmark: build the policy report of a generated series (5 sessions, 2,000 notes).

Prints the time of each stage (gather, synthesize, render HTML, render PDF),
the page count, and the ratio of the whole build to WeasyPrint alone on the
final Markdown's HTML (the floor no Roundtable work can go under).

    python bench/brief_build.py [--notes 2000] [--sessions 5] [--repeat 5] [--json] [--keep DIR]

``--repeat`` pairs of runs: the build, and WeasyPrint alone on the build's HTML with the same PDF
options. Both sides do the same PDF work under the same conditions: each starts from a collected
heap (``gc.collect()``, untimed) and they take turns going first. Every figure is a median; process
CPU seconds are printed beside wall seconds (on a shared machine wall-clock is mostly waiting), with
the CPU the garbage collector took on each side.

Targets: at most 10 s in all, at most 1.5x the WeasyPrint floor.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROLES = ["legal advocate", "municipal leader", "scholar", "community organizer", "faith leader", "public defender"]
FIRST = ["Ana", "Bilal", "Chen", "Dara", "Emeka", "Fatima", "Goran", "Hana", "Ines", "Jonas", "Kiri", "Lena",
         "Marek", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tove", "Umar", "Vera", "Wen", "Yara"]
LAST = ["Abara", "Brandt", "Castillo", "Dahl", "Eze", "Farouk", "Gallo", "Haddad", "Ivanova", "Jensen",
        "Kowalczyk", "Lindgren", "Moreau", "Nakamura", "Okafor", "Petrov", "Quispe", "Rahman"]

# People who agreed to be named: no first or last name shared with anyone else.
NAMED = ["Alma Reyes", "Tomasz Varga", "Beatriz Oduya", "Colm Fitzgerald", "Saoirse Lund", "Ikenna Obi"]

# Codebook: section -> theme -> sub-theme -> (subjects, predicates). Strategic
# directions have no sub-themes, so their notes are grouped by similarity.
CODEBOOK = {
    "Key Themes": {
        "Federal Enforcement Pressure": {
            "Escalating Operations": (["enforcement operations", "worksite raids", "plain-clothes agents"],
                                      ["have tripled since the winter", "now target apartment complexes near transit",
                                       "leave residents unsure whether police or federal agents are at the door"]),
            "Funding Threats to Cities": (["federal grant conditions", "threatened funding cuts", "justice grants"],
                                          ["are used to force local cooperation", "put public safety budgets at risk",
                                           "push councils to soften sanctuary ordinances"]),
            "Courthouse Arrests": (["civil arrests at courthouses", "detainer requests", "jail transfers"],
                                   ["keep victims and witnesses away from court", "bypass local policy on release",
                                    "happen before a lawyer can be reached"]),
        },
        "Legal Defense and Due Process": {
            "Universal Representation": (["publicly funded lawyers", "universal representation programs", "removal defense funds"],
                                         ["change outcomes for detained residents", "should not screen cases on merit",
                                          "need stable multi-year city budgets"]),
            "Rapid Transfers": (["rapid transfers to remote detention", "expedited removal", "overnight transfers"],
                                ["outrun legal help", "cut families off from counsel", "leave hearings without a lawyer"]),
            "Know-Your-Rights Education": (["know-your-rights trainings", "rights cards in many languages", "school workshops"],
                                           ["tell residents what to do during an encounter", "reach parents through schools",
                                            "must be refreshed as tactics change"]),
        },
        "Municipal Policy and Data Protection": {
            "Data Sharing and Surveillance": (["license plate readers", "city vendor contracts", "data brokers"],
                                              ["let residents' data reach enforcement", "need audit clauses and limits",
                                               "are the quiet back door around sanctuary policy"]),
            "Sanctuary Ordinances": (["sanctuary ordinances", "updated city policies", "county resolutions"],
                                     ["must close gaps in dispatch and jails", "face state preemption bills",
                                      "work only when staff are trained on them"]),
            "Records and Transparency": (["public records requests", "quarterly transparency reports", "council oversight hearings"],
                                         ["reveal what agencies actually share", "build public trust in city policy",
                                          "expose informal cooperation by police"]),
        },
        "Community Protection Networks": {},
    },
    "Strategic Directions": {
        "Invest in Legal Infrastructure": {},
        "Build Regional Coalitions": {},
        "Protect Organizers and Volunteers": {},
    },
}
UNGROUPED = {
    "Community Protection Networks": [
        ("rapid response hotlines", ["verify sightings before alerts go out", "reach families within the first hour",
                                     "depend on trained volunteer dispatchers"]),
        ("accompaniment volunteers", ["go with residents to check-ins and court dates", "come from congregations and unions",
                                      "document what agents do during check-ins"]),
        ("mutual aid funds", ["cover rent when a parent is detained", "pay for caregiver plans and documents",
                              "grew quickly after the first raids"]),
        ("family preparedness plans", ["name a caregiver for children", "keep documents safe with trusted people",
                                       "are easier to make in group clinics"]),
    ],
    "Invest in Legal Infrastructure": [
        ("cities", ["should fund universal representation for every resident facing removal",
                    "should pool money with counties for removal defense"]),
        ("law schools", ["can staff clinics for detained residents", "should train more removal defense lawyers"]),
        ("bar associations", ["should recruit pro bono counsel for rapid response", "can run hotlines for lawyers"]),
    ],
    "Build Regional Coalitions": [
        ("neighboring cities", ["should share model ordinances and legal strategies", "can sign joint amicus briefs"]),
        ("regional networks", ["should coordinate rapid response across county lines", "can pool data on enforcement patterns"]),
        ("mayors", ["should speak together when funding is threatened", "can meet quarterly to compare policy"]),
    ],
    "Protect Organizers and Volunteers": [
        ("organizers", ["need digital security training and safe devices", "should rotate on-call shifts to avoid burnout"]),
        ("networks", ["should budget for counseling and rest for volunteers", "must plan for doxxing and harassment"]),
        ("funders", ["should pay organizers, not rely on volunteers alone", "can fund legal support for organizers"]),
    ],
}
TAILS = ["", " in three cities", " since January", " according to recent cases", " across the region",
         " and this is getting worse", " in smaller towns too", " especially for mixed-status families"]
QUESTIONS = [
    "How can cities keep funding legal defense if federal grants are cut?",
    "What data do city vendors share with federal agencies, and who audits it?",
    "Can state preemption bills override local sanctuary ordinances?",
    "How do rapid response networks sustain volunteers over years, not months?",
    "What evidence shows that universal representation changes outcomes?",
    "Who should coordinate when several counties are affected by one operation?",
]
LINKS = [
    ("https://www.example.org/universal-representation-report", "Universal Representation Report",
     "An evaluation of publicly funded removal defense.", "Research and Policy Organizations"),
    ("https://cities.example.net/model-ordinance", "Model Sanctuary Ordinance",
     "A model ordinance with data-sharing limits.", "Legal and Policy Analysis"),
    ("https://toolkit.example.com/rapid-response", "Rapid Response Toolkit",
     "How to set up and run a verification hotline.", "Toolkits"),
    ("https://accompany.example.org", "Accompaniment Network", "Volunteer accompaniment to check-ins and court.",
     "Community Support and Accompaniment Programs"),
    ("https://intl-cities.example.eu", "Welcoming Cities Network", "An international network of cities.",
     "Municipal and Advocacy Networks (International)"),
    ("https://us-cities.example.us/network", "US Cities for Immigrants", "A US network of municipal leaders.",
     "Municipal and Advocacy Networks (US-based)"),
]


def generate_series(db, notes: int = 2000, sessions: int = 5, participants: int = 120, seed: int = 7):
    """Create a plausible fictional series; returns the ``Series``. Commits nothing."""
    from roundtable.models import Note, NoteTag, Participant, Resource, Series, Session, SessionState, Theme

    rng = random.Random(seed)
    series = Series(
        slug=f"bench-{uuid.uuid4().hex[:8]}",
        title="Sanctuary and Resistance 2026",
        subtitle="Evolving Strategies in an Uncertain Landscape",
        description="The series brought together municipal leaders, legal advocates, scholars and community "
        "organizers to compare what they see and what works.",
        organizations=["Civic Futures Lab", "Institute for Urban Policy"],
        authors=["Report Author One", "Report Author Two"],
        funder="The Meridian Fund",
        brief_number="2026/05",
        acknowledgments="Convened by the coordinating team of the Civic Futures Lab.",
    )
    db.add(series)
    db.flush()
    meetings = []
    for n in range(1, sessions + 1):
        m = Session(series_id=series.id, number=n, title=f"Session {n}", date=date(2026, min(n, 12), 14),
                    focus=["the new enforcement landscape", "legal defense under pressure",
                           "data, surveillance and municipal policy", "community protection networks",
                           "strategy for the year ahead"][(n - 1) % 5], state=SessionState.CLOSED)
        db.add(m)
        meetings.append(m)
    for i, name in enumerate(NAMED):
        db.add(Participant(series_id=series.id, name=name, role_label=ROLES[i % len(ROLES)], consent_named=True))
    for i in range(participants - len(NAMED)):
        db.add(Participant(series_id=series.id, name=f"{FIRST[i % len(FIRST)]} {LAST[i // len(FIRST) % len(LAST)]}",
                           role_label=ROLES[i % len(ROLES)], consent_named=False))
    for url, title, description, category in LINKS:
        db.add(Resource(series_id=series.id, url=url, title=title, description=description, category=category))
    db.flush()

    leaves = []  # (theme, [(subject, predicates)])
    position = 0
    for section, themes in CODEBOOK.items():
        for name, subs in themes.items():
            top = Theme(series_id=series.id, name=name, section=section, position=position)
            position += 1
            db.add(top)
            db.flush()
            if subs:
                for j, (sub, (subjects, predicates)) in enumerate(subs.items()):
                    child = Theme(series_id=series.id, parent_id=top.id, name=sub, section=section, position=j)
                    db.add(child)
                    db.flush()
                    leaves.append((child, [(s, predicates) for s in subjects]))
            else:
                leaves.append((top, UNGROUPED[name]))

    note_rows, tag_rows = [], []
    seqs = {m.id: 0 for m in meetings}
    for k in range(notes):
        m = meetings[k % len(meetings)]
        seqs[m.id] += 1
        theme, pool = leaves[rng.randrange(len(leaves))]
        roll = rng.random()
        if roll < 0.05:
            kind, text = "question", rng.choice(QUESTIONS)
        else:
            subject, predicates = rng.choice(pool)
            text = f"{subject.capitalize()} {rng.choice(predicates)}{rng.choice(TAILS)}."
            kind = "action" if theme.section == "Strategic Directions" else "point"
            if roll > 0.97:
                kind, text = "quote", f"“{subject.capitalize()} {rng.choice(predicates)}.”"
            elif roll > 0.94:
                url = rng.choice(LINKS)[0]
                text = f"{text[:-1]}, see {url}"
            elif roll > 0.92:
                text = f"However, a scholar was not convinced that {subject} {rng.choice(predicates)}."
        note_rows.append(Note(session_id=m.id, seq=seqs[m.id], uuid=str(uuid.UUID(int=rng.getrandbits(128))),
                              kind=kind, text=text, speaker_role=rng.choice(ROLES), author_id=None))
        tag_rows.append(theme.id)
    db.add_all(note_rows)
    db.flush()
    for note, theme_id in zip(note_rows, tag_rows):
        db.add(NoteTag(note_id=note.id, theme_id=theme_id,
                       source="manual" if note.id % 3 else "lexical"))
    db.flush()
    return series


class GcTimer:
    """Process CPU spent in the cyclic garbage collector, and how many full (generation 2) collections ran."""

    def __init__(self):
        self.seconds, self.full, self._start = 0.0, 0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.seconds += time.process_time() - self._start
            self.full += info["generation"] == 2

    def reset(self) -> None:
        self.seconds, self.full = 0.0, 0


def run(notes: int, sessions: int, keep: Path | None = None, repeat: int = 3) -> dict:
    import gc

    from sqlalchemy.orm import Session as DbSession

    from roundtable.application import Roundtable
    from roundtable.models import Base
    from roundtable.services import briefs, render

    with tempfile.TemporaryDirectory() as tmp:
        roundtable = Roundtable({"SECRET_KEY": "bench", "DATABASE_URL": "sqlite:///" + str(Path(tmp) / "bench.sqlite")})
        database = roundtable.database
        Base.metadata.create_all(database.engine)
        with database.session() as db:
            series_id = generate_series(db, notes=notes, sessions=sessions).id

        import weasyprint

        def build() -> tuple[dict, dict, object, str, bytes]:
            stages: dict[str, float] = {}
            cpu: dict[str, float] = {}
            clock = [time.perf_counter(), time.process_time()]

            def lap(stage: str) -> None:
                now = [time.perf_counter(), time.process_time()]
                stages[stage], cpu[stage] = now[0] - clock[0], now[1] - clock[1]
                clock[:] = now

            with DbSession(database.engine) as db:
                context = briefs.gather_brief_context(db, series_id, roundtable=roundtable)
            lap("gather")
            document = briefs.build_brief(context, template="report", roundtable=roundtable)
            lap("synthesize")
            page = render.render_document_html(document.markdown, "report", media="print")
            standalone = render.render_standalone_html(document.markdown, "report")
            lap("render_html")
            with DbSession(database.engine) as db:
                briefs.check_export(db, series_id, document.markdown)
            lap("export_gate")
            pdf = render.html_to_pdf(page)
            lap("render_pdf")
            return stages, cpu, document, standalone, pdf, page

        def weasyprint_alone(page: str) -> None:
            # Same HTML, same PDF options (PDF/UA-1), default fetcher: only WeasyPrint's own work.
            weasyprint.HTML(string=page).write_pdf(**render.PDF_OPTIONS)

        # Warm imports, fonts and caches on both sides so that every timed run measures work, not start-up.
        *_, page = build()
        weasyprint_alone(page)

        gc_timer = GcTimer()
        gc.callbacks.append(gc_timer)
        runs, floors = [], []
        for i in range(repeat):
            # Both sides start from a collected heap, and take turns going first: a full collection of the
            # whole heap costs about 0.3 s and lands wherever the allocation count happens to cross its
            # threshold, so an uncollected start favours whichever side runs second.
            for side in (("build", "alone") if i % 2 == 0 else ("alone", "build")):
                gc.collect()
                gc_timer.reset()
                if side == "build":
                    stages, cpu, document, standalone, pdf, page = build()
                    runs.append({"stages": stages, "cpu": cpu, "gc_s": gc_timer.seconds, "full_gc": gc_timer.full})
                else:
                    t, c = time.perf_counter(), time.process_time()
                    weasyprint_alone(page)
                    floors.append({"wall": time.perf_counter() - t, "cpu": time.process_time() - c,
                                   "gc_s": gc_timer.seconds, "full_gc": gc_timer.full})
        gc.callbacks.remove(gc_timer)

        import io

        from pypdf import PdfReader

        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / "bench-report.pdf").write_bytes(pdf)
            (keep / "bench-report.md").write_text(document.markdown, encoding="utf-8")
            (keep / "bench-report.html").write_text(standalone, encoding="utf-8")
        database.dispose()

    def median(values) -> float:
        return statistics.median(list(values))

    stages = {k: median(r["stages"][k] for r in runs) for k in runs[0]["stages"]}
    cpu = {k: median(r["cpu"][k] for r in runs) for k in runs[0]["cpu"]}
    total = median(sum(r["stages"].values()) for r in runs)
    total_cpu = median(sum(r["cpu"].values()) for r in runs)
    floor, floor_cpu = median(f["wall"] for f in floors), median(f["cpu"] for f in floors)
    own_cpu = median(sum(v for k, v in r["cpu"].items() if k != "render_pdf") for r in runs)
    return {
        "notes": notes,
        "repeat": repeat,
        "sessions": sessions,
        "stages_s": {k: round(v, 3) for k, v in stages.items()},
        "total_s": round(total, 3),
        "weasyprint_alone_s": round(floor, 3),
        "ratio_to_weasyprint": round(total / floor, 2),
        "stages_cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "total_cpu_s": round(total_cpu, 3),
        "own_stages_cpu_s": round(own_cpu, 3),
        "weasyprint_alone_cpu_s": round(floor_cpu, 3),
        "ratio_to_weasyprint_cpu": round(total_cpu / floor_cpu, 2),
        "ratio_cpu_paired_median": round(median(sum(r["cpu"].values()) / f["cpu"] for r, f in zip(runs, floors)), 2),
        "gc_cpu_s": {"build": round(median(r["gc_s"] for r in runs), 3),
                     "weasyprint_alone": round(median(f["gc_s"] for f in floors), 3)},
        "full_collections": {"build": [r["full_gc"] for r in runs], "weasyprint_alone": [f["full_gc"] for f in floors]},
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "pages": pages,
        "markdown_chars": len(document.markdown),
        "targets": {"total_s": 10, "ratio": 1.5},
        "ok": total <= 10 and total / floor <= 1.5,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5, help="pairs of runs (build, WeasyPrint alone); medians count")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--keep", type=Path, help="write the PDF, HTML and Markdown to this directory")
    args = parser.parse_args(argv)
    result = run(args.notes, args.sessions, args.keep, max(1, args.repeat))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"brief build: {result['notes']} notes, {result['sessions']} sessions, {result['pages']} pages "
              f"(load average {' '.join(map(str, result['load_average']))})")
        print(f"  {'':<12} {'wall':>9} {'CPU':>9}")
        for stage, seconds in result["stages_s"].items():
            print(f"  {stage:<12} {seconds:7.3f} s {result['stages_cpu_s'][stage]:7.3f} s")
        print(f"  {'total':<12} {result['total_s']:7.3f} s {result['total_cpu_s']:7.3f} s  (target <= 10 s)")
        print(f"  WeasyPrint alone {result['weasyprint_alone_s']:.3f} s wall, {result['weasyprint_alone_cpu_s']:.3f} s CPU; "
              f"ratio {result['ratio_to_weasyprint']}x wall, {result['ratio_to_weasyprint_cpu']}x CPU (target <= 1.5x)")
        print(f"  median of each pair's CPU ratio: {result['ratio_cpu_paired_median']}x; our stages before the PDF "
              f"{result['own_stages_cpu_s']:.3f} s CPU")
        print(f"  garbage collector CPU: build {result['gc_cpu_s']['build']:.3f} s, WeasyPrint alone "
              f"{result['gc_cpu_s']['weasyprint_alone']:.3f} s; full collections per run: build "
              f"{result['full_collections']['build']}, alone {result['full_collections']['weasyprint_alone']}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
