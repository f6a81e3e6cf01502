"""Exporting a brief: the anonymization export gate, then an exporter plugin (PDF, HTML, Markdown)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import ValidationError
from roundtable.models import Note, Participant, Session
from roundtable.services.anonymize import export_gate, roster_and_kept_terms, strings_in
from roundtable.services.briefs.build import BriefDocument, build_brief
from roundtable.services.briefs.context import _resolve_series, hidden_name_words
from roundtable.services.briefs.drafts import get_brief, reviewed_sections
from roundtable.services.briefs.markdown import FRONT_MATTER_KEY, split_sections
from roundtable.services.briefs.synthesis import mentions
from roundtable.services.render import render_document_html, split_front_matter
from roundtable.types import Exporter

WITHHELD = "(text not shown: it holds a word of the name of someone who declined to be named)"


def check_export(db: DbSession, series, text: str, template: str | None = None, provenance: dict | None = None,
                 show_provenance: bool = False) -> None:
    """Run the export gate on Markdown ``text`` about to leave the system, against ``series``' roster."""
    document = BriefDocument(text, {}, provenance or {}, template or "report", show_provenance)
    gate_document(document, series_roster(db, series))


def series_roster(db: DbSession, series):
    """The roster the export gate judges a series' documents against."""
    roster, _kept = roster_and_kept_terms(db, _resolve_series(db, series))
    return roster


def gate_document(document: BriefDocument, roster) -> None:
    """Run the anonymization export gate on a brief as its reader sees it.

    The Markdown, the rendered document (cover from the front matter, body,
    link targets) and the decoded front-matter values are judged: the gate
    refuses the name of anyone on ``roster`` who did not agree to be named
    (consenting people may appear in credits), emails and phone numbers.
    Without a roster only contact details and look-alike tricks are caught.
    """
    front_matter, _ = split_front_matter(document.markdown)
    rendered = render_document_html(document.markdown, document.template, document.provenance,
                                    document.show_provenance, media="print", source_lines=True)
    export_gate(document.markdown, roster, html=rendered, values=strings_in(front_matter))


def exporters_of(roundtable) -> dict[str, Exporter]:
    """The application's output formats by name; the first registered for a name (the newest plugin's) wins."""
    exporters: dict[str, Exporter] = {}
    for exporter in roundtable.collect("register_exporters"):
        exporters.setdefault(exporter.name, exporter)
    return exporters


def choose_exporter(roundtable, fmt: str | None = None, *, suffix: str | None = None) -> Exporter:
    """The exporter named ``fmt``, or the one whose file suffix is ``suffix``; a clear error listing the formats."""
    exporters = exporters_of(roundtable)
    if fmt is None and suffix is not None:
        wanted = {".htm": ".html"}.get(suffix.lower(), suffix.lower())
        fmt = next((name for name, e in exporters.items() if e.suffix.lower() == wanted), None)
        if fmt is None:
            raise ValidationError(f"cannot write a {suffix or 'file without a suffix'}; choose a file ending in "
                                  f"{', '.join(sorted(e.suffix for e in exporters.values()))} "
                                  f"(formats {', '.join(sorted(exporters))})")
    if fmt not in exporters:
        raise ValidationError(f"unknown format {fmt!r}; choose one of {', '.join(sorted(exporters))}")
    return exporters[fmt]


def export_document(document: BriefDocument, exporter: Exporter, roster, progress=None) -> bytes:
    """The one way a brief leaves the system: the export gate judges it, then ``exporter`` writes it.

    The web downloads, export jobs, ``brief build`` and ``render`` all come through here.
    """
    gate_document(document, roster)
    if progress:
        progress("gate", 1, 1)
    data = exporter.export(document)
    if progress:
        progress(exporter.name, 1, 1)
    return data


DRAFT_MARK = "{.draft-mark}\nDraft: not yet reviewed by the authors."


def mark_drafts(markdown: str, reviewed: set[str]) -> str:
    """Each section not marked reviewed gets a visible draft line under its heading."""
    out = []
    for key, text in split_sections(markdown).items():
        if key != FRONT_MATTER_KEY and not key.startswith("_") and key not in reviewed and DRAFT_MARK not in text:
            text = re.sub(r"^(#{1,2} .*\n)", lambda m: f"{m.group(1)}\n{DRAFT_MARK}\n", text, count=1, flags=re.M)
        out.append(text)
    return "".join(out)


def source_notes(db: DbSession, series, provenance: dict) -> dict[str, list[dict]]:
    """Bullet id -> its notes as a reader may see them: session, note number in it, anonymized text."""
    s = _resolve_series(db, series)
    ids = {int(i) for ids in provenance.values() for i in ids}
    rows = db.execute(
        select(Note.id, Note.seq, Note.kind, Note.text, Session.number)
        .join(Session, Note.session_id == Session.id)
        .where(Note.id.in_(ids), Session.series_id == s.id, Note.deleted_at.is_(None))
    ).all() if ids else []
    # A note holding a word of a hidden name ("will" when Will declined) keeps its place but not its text.
    hidden = hidden_name_words(db.scalars(select(Participant).where(Participant.series_id == s.id)))
    found = {r.id: {"session": r.number, "note": r.seq, "kind": r.kind,
                    "text": WITHHELD if mentions(r.text, hidden) else r.text} for r in rows}
    return {bullet: [found[int(i)] for i in ids if int(i) in found] for bullet, ids in provenance.items()}


def export_brief(db: DbSession, series, template: str = "report", fmt: str = "pdf", *, roundtable,
                 progress=None, markdown: str | None = None, provenance: bool = False) -> tuple[bytes, object]:
    """Build (or take the stored ``markdown``), gate, and export a brief.

    Returns ``(data, exporter)``. The export gate runs before any exporter,
    so nothing identifying is ever written.
    """
    exporter = choose_exporter(roundtable, fmt)
    reviewed: set[str] = set()
    if markdown is None:
        document = build_brief(db, series, template=template, roundtable=roundtable, progress=progress)
    else:
        fm, _ = split_front_matter(markdown)
        brief = get_brief(db, series, template, create=False)
        document = BriefDocument(markdown, fm, dict(brief.provenance or {}) if brief else {}, template)
        reviewed = reviewed_sections(brief)
    if fmt != "md":  # the Markdown stays the author's draft; readers' formats show what is unreviewed
        document.markdown = mark_drafts(document.markdown, reviewed)
    document.show_provenance = provenance
    if provenance:  # readers see session and note number with the anonymized text, and the gate judges it
        document.provenance = source_notes(db, series, document.provenance)
    return export_document(document, exporter, series_roster(db, series), progress), exporter
