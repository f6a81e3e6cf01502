"""The built-in brief exporters: Markdown with front matter, standalone HTML, and PDF.

The anonymization export gate has run on the document before any of these is
called (``roundtable.services.briefs.export_brief``).
"""

from __future__ import annotations

from roundtable import Exporter, hookimpl
from roundtable.services.render import render_pdf, render_standalone_html


def export_markdown(document) -> bytes:
    return document.markdown.encode("utf-8")


def export_html(document) -> bytes:
    return render_standalone_html(
        document.markdown, document.template, document.provenance, document.show_provenance
    ).encode("utf-8")


def export_pdf(document) -> bytes:
    return render_pdf(document.markdown, document.template, document.provenance, document.show_provenance)


EXPORTERS = [
    Exporter("md", ".md", "text/markdown; charset=utf-8", export_markdown),
    Exporter("html", ".html", "text/html; charset=utf-8", export_html),
    Exporter("pdf", ".pdf", "application/pdf", export_pdf),
]


@hookimpl
def register_exporters(register):
    for exporter in EXPORTERS:
        register(exporter)
