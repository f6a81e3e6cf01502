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
    if template == "report":  # the demo is a five-session series the size of the published report's
        assert 10 <= len(pages) <= 20
        gaps = {number: round(fill, 2) for number, fill in enumerate(page_fill(pdf)[:-1], 1)
                if number > 2 and fill < HALF_EMPTY}
        assert gaps == {}, f"pages of the demo report filled less than {HALF_EMPTY:.0%}: {gaps}"


@pytest.mark.parametrize("shown", ["in full", "without its scheme"])
def test_a_web_address_never_breaks_after_one_of_its_own_hyphens(shown):
    """A line ending in 'consent-' under a link reads as a hyphenated word: the reader cannot tell whether the
    address holds the hyphen, and text copied or extracted from the PDF loses it ('universalrepresentation')."""
    urls = [f"https://{'x' * n}narrative-lab.example.org/reports/consent-first-story-telling-guide-{n}"
            for n in range(0, 40, 3)]
    label = (lambda url: url) if shown == "in full" else (lambda url: url.split("//", 1)[1])  # noqa: E731
    markdown = "## Resources\n\n" + "".join(
        f"- **A guide number {n}** shared in session {n % 5 + 1}: [{label(url)}]({url})\n"
        for n, url in enumerate(urls))
    pdf = render.render_pdf(markdown, "report")
    lines = [line.strip() for page in PdfReader(io.BytesIO(pdf)).pages for line in page.extract_text().splitlines()]
    text = "\n".join(lines)
    assert all(url.split("//", 1)[1][:20] in text for url in urls)
    broken = [line for line in lines if re.search(r"[\w.]-$", line)]
    assert broken == []
    for url in urls:  # each address reads whole once the line breaks are taken out
        assert label(url) in "".join(lines)


def page_fill(pdf: bytes) -> list[float]:
    """How far down each page its body text reaches, from 0 (empty) to 1 (to the bottom margin).

    Text in the top and bottom margins (the running header and the footer) is left out."""
    fills = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        height = float(page.mediabox.height)
        top, bottom = height - 24 / 25.4 * 72, 22 / 25.4 * 72  # print.css's @page margins
        baselines = []
        page.extract_text(visitor_text=lambda text, cm, tm, font, size:
                          baselines.append(tm[5] * cm[3] + cm[5]) if text.strip() else None)
        body = [y for y in baselines if bottom < y < top]
        fills.append((top - min(body)) / (top - bottom) if body else 0.0)
    return fills


def running_heads(pdf: bytes) -> list[str]:
    """The header line of each page (series title, then the section), extracted after the body."""
    return [(page.extract_text().splitlines() or [""])[-2] for page in PdfReader(io.BytesIO(pdf)).pages]


# A page this empty or more, before the last, reads as a gap in the report.
HALF_EMPTY = 0.6


def short_front_sections(paragraphs: int) -> str:
    words = "Participants described how the city's budget and its partners shaped the work of the year".split()
    para = lambda n: " ".join(words[(n + i) % len(words)] for i in range(60)) + "."  # noqa: E731
    body = "".join(f"{para(n)}\n\n" for n in range(paragraphs))
    themes = "".join(f"### Theme {t}\n\n" + "".join(f"- **Lead-in {t}.{b}:** {para(b)} {para(b + 1)}\n"
                                                     for b in range(5)) + "\n" for t in range(1, 5))
    sessions = "".join(f"- **Session {n} (Month {n}):** What session {n} was about.\n" for n in range(1, 6))
    return (f"---\ntitle: A series\nkind: Policy Report\n---\n\n{{#executive-summary}}\n## Executive Summary\n\n{body}"
            f"{{#key-findings}}\n## Key Findings\n\n{body}"
            f"{{#strategic-implications}}\n## Strategic Implications\n\n{para(1)}\n\n"
            f"{{#introduction}}\n## Introduction\n\nThe series met five times.\n\n{sessions}\n"
            f"{{#key-themes}}\n## Key Themes\n\n{themes}"
            f"{{#resources}}\n## Resources and Partners\n\n{body}")


@pytest.mark.parametrize("paragraphs", [2, 4, 6])
def test_short_front_sections_leave_no_half_empty_page_before_the_themes(paragraphs):
    """The Strategic Implications and the Introduction are a few lines each: a page break before the
    Introduction or Key Themes left the page before it half empty (the 18F product guide's pages 4 and 5
    were a third full, the demo's page 5 less than half)."""
    pdf = render.render_pdf(short_front_sections(paragraphs), "report")
    fills = page_fill(pdf)
    summary = next(n for n, lines in enumerate(page_lines(pdf)) if lines and lines[0].endswith("Executive Summary"))
    # The cover and the contents are pages of their own; from the summary on, the text runs on.
    gaps = {number: round(fill, 2) for number, fill in enumerate(fills[:-1], 1)
            if number > summary and fill < HALF_EMPTY}
    assert gaps == {}, f"pages filled less than {HALF_EMPTY:.0%} before the last: {gaps} of {len(fills)}"


@pytest.mark.parametrize("paragraphs", [2, 6])
def test_each_running_head_names_the_section_the_page_opens_in(paragraphs):
    pdf = render.render_pdf(short_front_sections(paragraphs), "report")
    heads = running_heads(pdf)
    opening = ""
    for number, (page, head) in enumerate(zip(page_lines(pdf), heads), 1):
        first = re.sub(r"^\d+\s+", "", page[0]) if page else ""
        titles = ["Executive Summary", "Key Findings", "Strategic Implications", "Introduction", "Key Themes",
                  "Resources and Partners"]
        if first in titles:  # the page opens on a section's heading: the head names that section
            opening = first
        if number > 2:  # after the cover and the contents
            assert head.endswith(opening), f"page {number} opens in {opening!r} under the head {head!r}"
        opening = next((re.sub(r"^\d+\s+", "", line) for line in reversed(page)
                        if re.sub(r"^\d+\s+", "", line) in titles), opening)
