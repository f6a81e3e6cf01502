"""Rendering: safe Markdown, standalone HTML and a print-ready PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from roundtable.services import render

DRAFT = """---
title: Harbor City Working Group
subtitle: What We Learned
authors: [A. Author, B. Author]
contributors: [C. Contributor]
anonymous_contributors: true
organizations: [Civic Lab]
---

{#executive-summary}
## Executive Summary

::: draft
A summary for the author to rewrite.
:::

{#key-themes}
## Key Themes

### Enforcement

- [**Escalating Pressure:**]{#p-1-1} Legal advocates noted more operations. See [a study](https://example.org/study).

::: callout
> “Nobody opens the door anymore.”
>
> — a municipal leader
:::

### Legal Defense

Lawyers matter.

{#methods .appendix}
## How This Report Was Made

Counts only.
"""


@pytest.fixture(scope="module")
def pdf():
    return PdfReader(io.BytesIO(render.render_pdf(DRAFT, provenance={"p-1-1": [4, 5]})))


def test_raw_html_is_shown_as_text_and_script_links_are_inert():
    html = render.render_markdown(
        "<script>alert(1)</script> <img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) [file](file:///etc/passwd) [data](data:text/html,hi) "
        "[ok](https://example.org) [mail](mailto:a@example.org) [here](#key-themes)"
    ).html
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html and 'href="file:' not in html and 'href="data:' not in html
    assert 'href="https://example.org"' in html and 'href="mailto:a@example.org"' in html
    assert 'href="#key-themes"' in html


def test_only_id_and_class_attributes_are_allowed():
    html = render.render_markdown('{#intro .lead onclick="alert(1)" style="color:red"}\n## Intro\n').html
    assert 'id="intro"' in html and 'class="lead"' in html
    assert "onclick" not in html and "style" not in html


def test_the_contents_show_a_heading_as_its_reader_sees_it_not_its_markdown_escapes():
    rendered = render.render_markdown("## Costs \\[draft\\] & \\<b\\> *now* {#costs}\n\n### Q&amp;A: `x_y`\n")
    assert [h.text for h in rendered.toc] == ["Costs [draft] & <b> now", "Q&A: x_y"]


def test_sections_are_numbered_and_appendix_lettered():
    rendered = render.render_markdown(DRAFT)
    numbers = [(h.text, h.number) for h in rendered.toc]
    assert numbers == [
        ("Executive Summary", "1"),
        ("Key Themes", "2"),
        ("Enforcement", "2.1"),
        ("Legal Defense", "2.2"),
        ("How This Report Was Made", "Appendix A"),
    ]
    assert rendered.front_matter["title"] == "Harbor City Working Group"


def test_provenance_sources_show_session_and_note_number_never_database_ids():
    sources = {"p-1-1": [{"session": 2, "note": 14, "kind": "point", "text": "Grants withheld <again>."},
                         {"session": 3, "note": 1, "kind": "point", "text": "Courts slow."}]}
    plain = render.render_markdown(DRAFT, provenance=sources).html
    shown = render.render_markdown(DRAFT, provenance=sources, show_provenance=True).html
    assert "Session 2" not in plain and 'id="sources"' not in plain
    assert "Session 2, note 14: “Grants withheld &lt;again&gt;.”" in shown and "Session 3, note 1" in shown
    assert 'href="#src-p-1-1"' in shown and 'id="src-p-1-1"' in shown
    ids_only = render.render_markdown(DRAFT, provenance={"p-1-1": [4, 5]}, show_provenance=True).html
    assert "#4" not in ids_only and "Drawn from 2 notes." in ids_only


def test_sources_link_back_with_a_word_the_report_fonts_have():
    """The back link was "↩", which the bundled fonts lack: a stray glyph in print."""
    sources = {"p-1-1": [{"session": 2, "note": 14, "kind": "point", "text": "Grants withheld."}]}
    shown = render.render_markdown(DRAFT, provenance=sources, show_provenance=True).html
    assert 'href="#srcref-p-1-1">back</a>' in shown and "↩" not in shown
    pdf = PdfReader(io.BytesIO(render.render_pdf(DRAFT, provenance=sources, show_provenance=True)))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "Session 2, note 14" in text and "back" in text.split("Session 2, note 14")[-1]


def test_standalone_html_is_one_file_with_styles_inlined():
    html = render.render_standalone_html(DRAFT)
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert "<link" not in html and "<script" not in html and "src=" not in html
    assert "and other anonymous contributors" in html
    assert "Draft" in html  # the draft container is labelled by the stylesheet


def test_pdf_has_cover_contents_with_page_numbers_and_bookmarks(pdf):
    assert 3 <= len(pdf.pages) <= 8  # cover, contents, then the sections flow (Key Themes follows the summary)
    cover = pdf.pages[0].extract_text()
    assert "Harbor City Working Group" in cover and "A. Author, B. Author" in cover
    assert "C. Contributor, and other anonymous contributors" in " ".join(cover.split())
    contents = " ".join(pdf.pages[1].extract_text().split())
    assert "Contents" in contents
    assert "1 Executive Summary 3" in contents.replace(".", "").replace("  ", " ")
    outline = [o.title for o in pdf.outline if not isinstance(o, list)]
    assert outline == ["Harbor City Working Group", "Contents", "1 Executive Summary", "2 Key Themes",
                       "Appendix A How This Report Was Made"]
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert "Drawn from notes" not in text  # provenance is omitted from the PDF unless asked


def test_pdf_links_work(pdf):
    uris = []
    for page in pdf.pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A") or {}
            if action.get("/URI"):
                uris.append(action["/URI"])
    assert "https://example.org/study" in uris


def test_pdf_running_header_and_footer_carry_title_section_and_page(pdf):
    page = " ".join(pdf.pages[2].extract_text().split())
    assert "Harbor City Working Group" in page and "Executive Summary" in page and "3" in page


def test_the_pdf_fetcher_refuses_files_and_every_non_data_resource(tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text('body::after { content: "LEAKED-SECRET"; }', encoding="utf-8")
    fetcher = render.safe_url_fetcher()
    for url in (secret.as_uri(), "http://127.0.0.1/x.png", "https://example.org/a.css", "ftp://x/y"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    page = f'<html><head><link rel="stylesheet" href="{secret.as_uri()}"></head><body><p>hello</p>' \
           f'<img src="{secret.as_uri()}"></body></html>'
    text = PdfReader(io.BytesIO(render.html_to_pdf(page))).pages[0].extract_text()
    assert "hello" in text and "LEAKED" not in text
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"


def test_render_command_renders_a_draft_with_its_front_matter(app, tmp_path):
    from roundtable.cli.brief import render_command

    draft = tmp_path / "draft.md"
    draft.write_text(DRAFT, encoding="utf-8")
    out = tmp_path / "out.html"
    result = app.test_cli_runner().invoke(render_command, [str(draft), "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<title>Harbor City Working Group: What We Learned</title>" in html
    bad = app.test_cli_runner().invoke(render_command, [str(draft), "-o", str(tmp_path / "out.docx")])
    assert bad.exit_code != 0 and "docx" in str(bad.exception)


def test_pdf_is_tagged_for_screen_readers(pdf):
    root = pdf.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root and root["/Lang"] == "en"
    assert pdf.metadata.title.startswith("Harbor City Working Group")


def test_render_writes_every_format_through_the_exporters_and_the_export_gate(app, tmp_path):
    """A plugin's format is offered by `roundtable render` as by the downloads, and the gate runs first."""
    from roundtable import Exporter, hookimpl
    from roundtable.cli.brief import render_command
    from roundtable.errors import ExportBlocked, ValidationError

    exported = []

    class PlainText:
        @hookimpl
        def register_exporters(self, register):
            register(Exporter("txt", ".txt", "text/plain", lambda document: exported.append(document) or b"plain"))

    roundtable = app.extensions["roundtable"]
    roundtable.pm.register(PlainText(), name="plain-text")
    try:
        draft = tmp_path / "draft.md"
        draft.write_text(DRAFT, encoding="utf-8")
        runner = app.test_cli_runner()
        done = runner.invoke(render_command, [str(draft), "-o", str(tmp_path / "out.txt")])
        assert done.exit_code == 0, done.output
        assert (tmp_path / "out.txt").read_bytes() == b"plain"
        assert exported[0].markdown == DRAFT and exported[0].front_matter["title"] == "Harbor City Working Group"
        markdown = runner.invoke(render_command, [str(draft), "-o", str(tmp_path / "out.md")])
        assert markdown.exit_code == 0 and (tmp_path / "out.md").read_text(encoding="utf-8") == DRAFT

        draft.write_text(DRAFT + "\nWrite to maria.nunez@example.org for the data.\n", encoding="utf-8")
        refused = runner.invoke(render_command, [str(draft), "-o", str(tmp_path / "leak.txt")])
        assert isinstance(refused.exception, ExportBlocked)
        assert len(exported) == 1 and not (tmp_path / "leak.txt").exists()

        unknown = runner.invoke(render_command, [str(draft), "-o", str(tmp_path / "out.docx")])
        assert isinstance(unknown.exception, ValidationError) and "html, md, pdf, txt" in str(unknown.exception)
    finally:
        roundtable.pm.unregister(name="plain-text")


def test_a_drafts_section_titles_read_as_the_contents_show_them():
    """The workbench and "Sections you edited" name sections as readers see them, not by their Markdown source."""
    from roundtable.services.briefs import section_titles

    markdown = "{#costs}\n## Costs \\[draft\\] *now*\n\nText.\n\n{#plain}\n## Plain\n\nMore.\n"
    assert section_titles(markdown) == {"costs": "Costs [draft] now", "plain": "Plain"}


def test_an_export_parses_its_markdown_once_for_the_gate_and_the_pdf(monkeypatch):
    """The export gate judges the print page (with source lines) and the PDF is made from the same page: one
    parse of the Markdown serves both (it was parsed twice, a tenth of a second on the 2,000-note bench)."""
    parses = []
    md = render.markdown_parser()
    real_parse = md.parse
    monkeypatch.setattr(md, "parse", lambda *a, **k: parses.append(1) or real_parse(*a, **k))
    markdown = DRAFT.replace("Counts only.", "Counts only, once.")
    judged = render.render_document_html(markdown, "report", media="print", source_lines=True)
    printed = render.render_document_html(markdown, "report", media="print")
    assert len(parses) == 1
    assert 'data-source-line="' in judged and "data-source-line" not in printed
    assert printed == render.render_document_html(markdown.replace("once", "twice"), "report", media="print") \
        .replace("twice", "once")  # a changed draft is rendered anew, never served from the last one
    assert len(parses) == 2
