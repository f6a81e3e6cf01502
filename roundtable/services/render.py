"""Render brief Markdown to safe HTML, standalone HTML and print-ready PDF.

Markdown goes through markdown-it-py with raw HTML disabled, links limited to
http, https, mailto and ``#`` fragments, and attributes limited to ``id`` and
``class``. PDFs are made by WeasyPrint with a CSS Paged Media stylesheet and
a URL fetcher that refuses every resource except inline ``data:`` URLs, so
text typed by users can never pull a file from the server into a document.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from roundtable.errors import ValidationError

FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.S)
ALLOWED_SCHEMES = ("http:", "https:", "mailto:")
ALLOWED_ATTRS = ("id", "class")
CONTAINERS = ("draft", "callout", "note")
TEMPLATE_LABELS = {"report": "A Policy Report", "brief": "Research Brief"}


def split_front_matter(markdown: str) -> tuple[dict, str]:
    """``(front matter dict, body)``; an absent or unreadable front matter gives ``{}``."""
    m = FRONT_MATTER_RE.match(markdown)
    if not m:
        return {}, markdown
    try:
        data = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ValidationError(f"the front matter is not valid YAML: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise ValidationError("the front matter must be a mapping of fields")
    return data, markdown[m.end() :]


def _repo_dir(name: str) -> Path:
    """``templates/`` or ``static/`` of a source checkout, else the installed package data.

    A wheel installs them as ``roundtable/templates`` and ``roundtable/static`` (namespace
    packages, whose ``importlib.resources.files()`` is not a path), so they are found beside
    this package's files.
    """
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent / name
    return checkout if checkout.is_dir() else package / name


TEMPLATES_DIR = _repo_dir("templates")
STATIC_DIR = _repo_dir("static")


EMBEDDED_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,")


def is_safe_link(url: str) -> bool:
    """Only http, https, mailto, in-document ``#`` links and embedded raster images survive
    (remote images are then dropped by :func:`_drop_remote_images`)."""
    url = url.strip()
    if url.startswith("#"):
        return True
    lowered = re.sub(r"[\x00-\x20]", "", url).lower()
    return lowered.startswith(ALLOWED_SCHEMES) or bool(EMBEDDED_IMAGE.match(lowered))


@functools.lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    md = (
        MarkdownIt("commonmark", {"html": False, "typographer": True, "linkify": False})
        .enable(["table", "strikethrough", "replacements", "smartquotes"])
        .use(front_matter_plugin)
        .use(footnote_plugin)
        .use(attrs_plugin, spans=True, allowed=ALLOWED_ATTRS)
        .use(attrs_block_plugin, allowed=ALLOWED_ATTRS)
        .use(anchors_plugin, min_level=1, max_level=4)
    )
    for name in CONTAINERS:
        md.use(container_plugin, name=name)
    md.validateLink = is_safe_link
    return md


@dataclass
class Heading:
    level: int
    id: str
    text: str
    number: str = ""


@dataclass
class RenderedMarkdown:
    """HTML of a Markdown document, its front matter and its numbered headings."""

    html: str
    front_matter: dict
    headings: list[Heading] = field(default_factory=list)

    @property
    def toc(self) -> list[Heading]:
        return [h for h in self.headings if h.level in (2, 3)]


def _plain_text(inline: Token) -> str:
    """An inline token as its reader sees it: "Costs \\[draft\\] *now*" is "Costs [draft] now" (the contents and
    the PDF outline show this; the source showed a theme's escapes)."""
    parts = [child.content for child in inline.children or () if child.type in ("text", "text_special", "code_inline")]
    return re.sub(r"\{[^}]*\}\s*$", "", " ".join("".join(parts).split())).strip()  # a trailing {#id} is no text


def heading_text(source: str) -> str:
    """A heading's Markdown source as its reader sees it, as the contents show it: for the workbench's titles."""
    inline = markdown_parser().parseInline(source)
    return _plain_text(inline[0]) if inline else ""


def _number_headings(tokens: list[Token]) -> list[Heading]:
    """Number h2 sections (1, 2, ...) and their h3 (5.1); ``.unnumbered`` opts out,
    ``.appendix`` gets a letter. The number goes in ``data-number``."""
    headings: list[Heading] = []
    section = appendix = sub = 0
    current = ""
    for i, tok in enumerate(tokens):
        if tok.type != "heading_open":
            continue
        level = int(tok.tag[1])
        classes = (tok.attrGet("class") or "").split()
        text = _plain_text(tokens[i + 1])
        number = ""
        if level == 2:
            sub = 0
            if "appendix" in classes:
                appendix += 1
                current = "ABCDEFGHIJ"[min(appendix - 1, 9)]
                number = f"Appendix {current}"
            elif "unnumbered" in classes:
                current = ""
            else:
                section += 1
                current = str(section)
                number = current
        elif level == 3 and current and "unnumbered" not in classes:
            sub += 1
            number = f"{current}.{sub}"
        if number:
            tok.attrSet("data-number", number)
        headings.append(Heading(level, str(tok.attrGet("id") or ""), text, number))
    return headings


def _add_provenance(tokens: list[Token], provenance: dict[str, list[int]]) -> list[tuple[int, str, list[int]]]:
    """Put a source marker after each generated bullet's lead-in; return the list of sources."""
    sources = []
    for tok in tokens:
        if tok.type != "inline" or not tok.children:
            continue
        out, stack = [], []
        for child in tok.children:
            out.append(child)
            if child.type == "span_open":
                stack.append(child.attrGet("id"))
            elif child.type == "span_close" and stack:
                bullet_id = stack.pop()
                if bullet_id in provenance:
                    n = len(sources) + 1
                    sources.append((n, bullet_id, provenance[bullet_id]))
                    marker = Token("html_inline", "", 0)
                    marker.content = (
                        f'<sup class="source-ref"><a href="#src-{html.escape(bullet_id)}" '
                        f'id="srcref-{html.escape(bullet_id)}">{n}</a></sup>'
                    )
                    out.append(marker)
        tok.children = out
    return sources


def _sources_text(notes: list) -> str:
    """A bullet's sources for readers: "Session 2, note 14: “...”" (note ids alone when that is all there is)."""
    if notes and isinstance(notes[0], dict):
        return " ".join(
            f'<span class="source-note">Session {int(n["session"])}, note {int(n["note"])}: '
            f'“{html.escape(n["text"])}”</span>' for n in notes
        )
    return f"Drawn from {len(notes)} {'note' if len(notes) == 1 else 'notes'}."


def _drop_remote_images(tokens: list[Token]) -> None:
    """Keep only images embedded as ``data:image/...``; any other becomes its alt text.

    A remote image in an exported HTML file is fetched when the reader opens it: a tracking
    pixel planted by an author would tell a third party who read the brief, when and where.
    """
    for token in tokens:
        children = token.children or []
        for i, child in enumerate(children):
            src = re.sub(r"[\x00-\x20]", "", child.attrGet("src") or "").lower() if child.type == "image" else ""
            if child.type == "image" and not EMBEDDED_IMAGE.match(src):
                text = Token("text", "", 0)
                text.content = "".join(c.content for c in child.children or []) or child.content
                children[i] = text


_ADDRESS_HYPHEN = re.compile(r"-(.)", re.S)


def _keep_address_hyphens(tokens: list[Token]) -> None:
    """A web address shown as a link's text (in full, or without its scheme) never breaks right after one of
    its own hyphens.

    A line ending in "consent-" reads as a hyphenated word: the reader cannot tell whether the address
    holds the hyphen, and text copied from the PDF loses it. Each hyphen is kept on one line with the
    character after it (a ``nowrap`` span); the address still breaks after a slash, or anywhere when it
    must, and its text is unchanged.
    """
    for token in tokens:
        children = token.children or []
        in_link, href = False, ""
        for i, child in enumerate(children):
            in_link = child.type == "link_open" or (in_link and child.type != "link_close")
            if child.type == "link_open":
                href = str(child.attrGet("href") or "")
            # The address in full, or as a reader types it ("narrative-lab.example.org/guide", the research brief's).
            address = re.match(r"https?://", child.content) or child.content == re.sub(
                r"^https?://(?:www\.)?", "", href, flags=re.I)
            if in_link and child.type == "text" and address and "-" in child.content:
                kept = Token("html_inline", "", 0)
                parts, last = [], 0
                for m in _ADDRESS_HYPHEN.finditer(child.content):
                    parts.append(html.escape(child.content[last:m.start()]))
                    parts.append(f'<span class="nobreak">-{html.escape(m.group(1))}</span>')
                    last = m.end()
                kept.content = "".join(parts) + html.escape(child.content[last:])
                children[i] = kept


def _mark_source_lines(tokens: list[Token], first_line: int) -> None:
    """``data-source-line`` on each block's opening tag: the draft's line the export gate points the author to."""
    for tok in tokens:
        if tok.map and (tok.nesting == 1 or tok.type in ("fence", "code_block")):
            tok.attrSet("data-source-line", str(first_line + tok.map[0] + 1))


def render_markdown(markdown: str, provenance: dict | None = None, show_provenance: bool = False, *,
                    source_lines: bool = False) -> RenderedMarkdown:
    """Markdown (with optional YAML front matter) to an HTML fragment (``source_lines``: see
    :func:`_mark_source_lines`; for the export gate, not for readers)."""
    return _render_variants(markdown, provenance, show_provenance, (source_lines,))[0]


def _render_variants(markdown: str, provenance: dict | None, show_provenance: bool,
                     variants: tuple[bool, ...]) -> list[RenderedMarkdown]:
    """One parse, rendered once per ``variants`` entry (without, then with source lines)."""
    front_matter, body = split_front_matter(markdown)
    md = markdown_parser()
    env: dict = {}
    tokens = md.parse(body, env)
    _drop_remote_images(tokens)
    _keep_address_hyphens(tokens)
    headings = _number_headings(tokens)
    sources = _add_provenance(tokens, provenance) if (show_provenance and provenance) else []
    rendered = []
    for source_lines in variants:
        if source_lines:
            _mark_source_lines(tokens, markdown.count("\n") - body.count("\n"))
        out = md.renderer.render(tokens, md.options, env)
        if sources:
            items = "".join(
                f'<li id="src-{html.escape(bid)}">{_sources_text(notes)} <a class="source-back" href="#srcref-{html.escape(bid)}">back</a></li>'
                for _, bid, notes in sources
            )
            out += f'<section class="sources"><h2 class="unnumbered" id="sources">Sources</h2><ol>{items}</ol></section>'
        rendered.append(RenderedMarkdown(out, front_matter, headings))
    return rendered


# --------------------------------------------------------------------------- documents


@functools.lru_cache(maxsize=1)
def _jinja() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.lru_cache(maxsize=8)
def stylesheet(name: str) -> str:
    return (STATIC_DIR / "brief" / name).read_text(encoding="utf-8")


def _as_list(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def document_meta(front_matter: dict, template: str | None = None) -> dict:
    """Normalized cover fields from front matter (any missing field is empty)."""
    template = template or str(front_matter.get("template") or "report")
    return {
        "template": template,
        "title": str(front_matter.get("title") or "Untitled brief"),
        "subtitle": str(front_matter.get("subtitle") or ""),
        "kind": str(front_matter.get("kind") or TEMPLATE_LABELS.get(template, "")),
        "organizations": _as_list(front_matter.get("organizations")),
        "authors": _as_list(front_matter.get("authors")),
        "contributors": _as_list(front_matter.get("contributors")),
        "anonymous_contributors": bool(front_matter.get("anonymous_contributors")),
        "date": str(front_matter.get("date") or ""),
        "brief_number": str(front_matter.get("brief_number") or ""),
        "funder": str(front_matter.get("funder") or ""),
        "lang": str(front_matter.get("lang") or "en"),
    }


def render_document_html(markdown: str, template: str | None = None, provenance: dict | None = None,
                         show_provenance: bool = False, media: str = "screen", *, source_lines: bool = False) -> str:
    """A complete HTML document with its styles inlined (``media`` "screen" or "print")."""
    if media == "print":
        return print_pages(markdown, template, provenance, show_provenance)[source_lines]
    return _document_page(render_markdown(markdown, provenance, show_provenance, source_lines=source_lines),
                          template, media)


# The last document's print pages, by its content: an export has the gate judge the print page with source
# lines, then prints the same page without them, and one parse serves both.
_LAST_PRINT_PAGES: dict[str, tuple[str, str]] = {}


def print_pages(markdown: str, template: str | None = None, provenance: dict | None = None,
                show_provenance: bool = False) -> tuple[str, str]:
    """``(the print page a reader gets, the same page with source lines for the export gate)``."""
    key = repr((markdown, template, provenance, show_provenance))
    pages = _LAST_PRINT_PAGES.get(key)
    if pages is None:
        plain, marked = _render_variants(markdown, provenance, show_provenance, (False, True))
        pages = (_document_page(plain, template, "print"), _document_page(marked, template, "print"))
        _LAST_PRINT_PAGES.clear()
        _LAST_PRINT_PAGES[key] = pages
    return pages


def _document_page(rendered: RenderedMarkdown, template: str | None, media: str) -> str:
    meta = document_meta(rendered.front_matter, template)
    css = stylesheet("base.css") + "\n" + stylesheet("print.css" if media == "print" else "screen.css")
    page = _jinja().get_template(f"brief/{'brief' if meta['template'] == 'brief' else 'report'}.html")
    return page.render(meta=meta, body=Markup(rendered.html), toc=rendered.toc, css=Markup(css), media=media)


def render_standalone_html(markdown: str, template: str | None = None, provenance: dict | None = None,
                           show_provenance: bool = False) -> str:
    """One self-contained HTML file: no external styles, scripts or fonts."""
    return render_document_html(markdown, template, provenance, show_provenance, media="screen")


# --------------------------------------------------------------------------- PDF


def _fetcher_class():
    from weasyprint.urls import URLFetcher  # lazy: WeasyPrint takes about a second to import

    class DataOnlyURLFetcher(URLFetcher):
        """Refuses ``file:``, ``http(s):`` and every other scheme: only inline ``data:`` passes."""

        def fetch(self, url, headers=None):
            if not url.strip().lower().startswith("data:"):
                raise ValueError(f"refused to fetch a {url.split(':', 1)[0][:10]!r} resource")
            return super().fetch(url, headers)

    return DataOnlyURLFetcher


@functools.lru_cache(maxsize=1)
def safe_url_fetcher():
    return _fetcher_class()(allowed_protocols=("data",), allow_redirects=False, timeout=1)


PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "custom_metadata": True}


def html_to_pdf(document_html: str, tagged: bool = True) -> bytes:
    """WeasyPrint with the safe fetcher; an accessible PDF/UA-1 (tagged, titled, with language)
    when ``tagged``."""
    import weasyprint  # lazy: about a second to import, only for PDFs

    options = PDF_OPTIONS if tagged else {"custom_metadata": True}
    return weasyprint.HTML(string=document_html, base_url="data:,", url_fetcher=safe_url_fetcher()).write_pdf(
        **options
    )


def render_pdf(markdown: str, template: str | None = None, provenance: dict | None = None,
               show_provenance: bool = False, tagged: bool = True) -> bytes:
    """A print-ready PDF: cover, contents with page numbers, running header and footer."""
    return html_to_pdf(render_document_html(markdown, template, provenance, show_provenance, media="print"),
                       tagged=tagged)
