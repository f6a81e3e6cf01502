"""Exporting a brief: the anonymization export gate, then an exporter plugin (PDF, HTML, Markdown)."""

from __future__ import annotations

from sqlalchemy.orm import Session as DbSession

from roundtable.errors import ValidationError
from roundtable.plugins import collect, default_plugin_manager
from roundtable.services.anonymize import export_gate, roster_and_kept_terms, strings_in
from roundtable.services.briefs.build import BriefDocument, build_brief
from roundtable.services.briefs.context import _resolve_series
from roundtable.services.briefs.drafts import get_brief
from roundtable.services.briefs.markdown import split_front_matter

def check_export(db: DbSession, series, text: str, template: str | None = None, provenance: dict | None = None,
                 show_provenance: bool = False) -> None:
    """Run the anonymization export gate on a brief about to leave the system, as its reader sees it.

    The Markdown, the rendered document (cover from the front matter, body,
    link targets) and the decoded front-matter values are judged: the gate
    refuses the name of anyone on the roster who did not agree to be named
    (consenting people may appear in credits), emails and phone numbers.
    """
    from roundtable.services.render import render_document_html  # render reads briefs' front matter

    front_matter, _ = split_front_matter(text)
    rendered = render_document_html(text, template, provenance, show_provenance, media="print")
    roster, _kept = roster_and_kept_terms(db, _resolve_series(db, series))
    export_gate(text, roster, html=rendered, values=strings_in(front_matter))


def export_brief(db: DbSession, series, template: str = "report", fmt: str = "pdf", pm=None,
                 progress=None, markdown: str | None = None, provenance: bool = False) -> tuple[bytes, object]:
    """Build (or take the stored ``markdown``), gate, and export a brief.

    Returns ``(data, exporter)``. The export gate runs before any exporter,
    so nothing identifying is ever written.
    """
    pm = pm or default_plugin_manager()
    exporters = {}
    for exporter in collect(pm, "register_exporters"):
        exporters.setdefault(exporter.name, exporter)
    if fmt not in exporters:
        raise ValidationError(f"unknown format {fmt!r}; choose one of {', '.join(sorted(exporters))}")
    if markdown is None:
        document = build_brief(db, series, template=template, pm=pm, progress=progress)
    else:
        fm, _ = split_front_matter(markdown)
        brief = get_brief(db, series, template, create=False)
        document = BriefDocument(markdown, fm, dict(brief.provenance or {}) if brief else {}, template)
    document.show_provenance = provenance
    check_export(db, series, document.markdown, document.template, document.provenance, provenance)
    if progress:
        progress("gate", 1, 1)
    data = exporters[fmt].export(document)
    if progress:
        progress(fmt, 1, 1)
    return data, exporters[fmt]
