"""How the demo's briefs break across pages: what a reader turning the PDF's pages sees."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from roundtable.services import briefs

DRAFT_LINE = re.compile(r"draft: not yet reviewed by the authors\.?", re.I)


def page_lines(pdf: bytes) -> list[list[str]]:
    """Each page's lines of text, without the running header and the footer (extracted last)."""
    pages = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        lines = [line.strip() for line in page.extract_text().splitlines() if line.strip()]
        pages.append(lines[:-2])
    return pages


@pytest.mark.slow
@pytest.mark.parametrize("template", ["brief", "report"])
def test_no_page_ends_on_a_draft_mark_parted_from_its_section(db, roundtable, template):
    from roundtable.cli.demo import load_demo

    series = load_demo(roundtable)
    pdf, _ = briefs.export_brief(db, series.id, template=template, fmt="pdf", roundtable=roundtable)
    pages = page_lines(pdf)
    assert sum(bool(DRAFT_LINE.fullmatch(line)) for p in pages for line in p) >= 4, "the demo marks each section"
    for number, lines in enumerate(pages, 1):
        assert lines and not DRAFT_LINE.fullmatch(lines[-1]), f"page {number} ends on a section's draft mark"
