"""How the demo's briefs break across pages: what a reader turning the PDF's pages sees."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from roundtable.services import briefs, render

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


# A page holding fewer lines than this (besides its header and footer) reads as nearly empty.
FEW_LINES = 8


@pytest.mark.slow
@pytest.mark.parametrize("template", ["brief", "report"])
def test_no_heading_at_a_page_foot_and_no_nearly_empty_brief_page(db, roundtable, template):
    from roundtable.cli.demo import load_demo

    series = load_demo(roundtable)
    pdf, _ = briefs.export_brief(db, series.id, template=template, fmt="pdf", roundtable=roundtable)
    markdown = briefs.export_brief(db, series.id, template=template, fmt="md", roundtable=roundtable)[0].decode()
    headings = {re.sub(r"\s+", " ", f"{h.number} {h.text}".strip()) for h in render.render_markdown(markdown).headings}
    headings |= {h.text for h in render.render_markdown(markdown).headings}
    pages = page_lines(pdf)
    # The short brief flows from its header to its end: no page, the last included, may be a stray paragraph
    # (its fourth page once held one short paragraph of links). In the report, only the last page may be short:
    # a page holding one quote, the end of Key Themes before Strategic Directions started a page, was one.
    for number, lines in enumerate(pages if template == "brief" else pages[:-1], 1):
        assert len(lines) >= FEW_LINES, f"page {number} holds only {len(lines)} lines: {lines}"
    for number, lines in enumerate(pages[:-1], 1):
        assert re.sub(r"\s+", " ", lines[-1]) not in headings, f"page {number} ends on the heading {lines[-1]!r}"


def test_a_web_address_never_breaks_after_one_of_its_own_hyphens():
    """A line ending in 'consent-' under a link reads as a hyphenated word: the reader cannot tell whether the
    address holds the hyphen, and text copied or extracted from the PDF loses it ('universalrepresentation')."""
    urls = [f"https://{'x' * n}narrative-lab.example.org/reports/consent-first-story-telling-guide-{n}"
            for n in range(0, 40, 3)]
    markdown = "## Resources\n\n" + "".join(
        f"- **A guide number {n}** shared in session {n % 5 + 1}: [{url}]({url})\n" for n, url in enumerate(urls))
    pdf = render.render_pdf(markdown, "report")
    lines = [line.strip() for page in PdfReader(io.BytesIO(pdf)).pages for line in page.extract_text().splitlines()]
    text = "\n".join(lines)
    assert all(url.split("//", 1)[1][:20] in text for url in urls)
    broken = [line for line in lines if re.search(r"[\w.]-$", line)]
    assert broken == []
    for url in urls:  # each address reads whole once the line breaks are taken out
        assert url in "".join(lines)
