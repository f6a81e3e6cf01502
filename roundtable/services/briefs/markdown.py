"""The Markdown of a brief: escaping, links, front matter and ``{#key}`` sections."""

from __future__ import annotations

import re
from collections import OrderedDict
from urllib.parse import urlsplit

import yaml

from roundtable.services.render import FRONT_MATTER_RE

# A backtick is never part of an address (RFC 3986): "install `https://...`" ends before it.
URL_RE = re.compile(r"https?://[^\s<>\"'`\]\[)(]+(?:\([^\s<>\"'`)(]*\)[^\s<>\"'`\]\[)(]*)*", re.I)
# Punctuation that ends a sentence or wraps an address rather than belonging to it ("see *https://x.org/*.").
URL_TRAILING = ".,;:!?'\"*’”»…"


SECTION_MARK_RE = re.compile(r"^\{#([A-Za-z][\w-]*)[^}\n]*\}[ \t]*\n(?=#{1,2} )", re.M)




_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}<>#|!~])")


def extract_urls(text: str) -> list[str]:
    out = []
    for m in URL_RE.finditer(text or ""):
        url = m.group(0).rstrip(URL_TRAILING)
        if url not in out:
            out.append(url)
    return out


def url_key(url: str) -> str:
    """A URL normalized for "each link once": lower-case host, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    key = f"{parts.netloc.lower().removeprefix('www.')}{path}"
    if parts.query:
        key += "?" + parts.query
    return key


def url_label(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.lower().removeprefix("www.") or url


def short_address(url: str) -> str:
    """An address as a reader types it: without the scheme and "www." ("tenants.example.org/toolkit/")."""
    return re.sub(r"^https?://(?:www\.)?", "", url, flags=re.I)


def escape_md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_link(label: str, url: str) -> str:
    safe = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{escape_md(label)}]({safe})"


def note_markdown(text: str, titles: dict[str, str] | None = None) -> str:
    """Escape a note for Markdown, turning its URLs into inline links."""
    titles = titles or {}
    out, last = [], 0
    for m in URL_RE.finditer(text):
        url = m.group(0).rstrip(URL_TRAILING)
        out.append(escape_md(text[last : m.start()]))
        out.append(md_link(titles.get(url_key(url)) or url_label(url), url))
        last = m.start() + len(url)
    out.append(escape_md(text[last:]))
    return "".join(out)


def lead_in_markdown(lead_in: str, bullet_id: str) -> str:
    return f"[**{escape_md(lead_in.rstrip(':'))}:**]{{#{bullet_id}}}"


def join_front_matter(front_matter: dict, body: str) -> str:
    head = yaml.safe_dump(front_matter, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{head}---\n\n{body.lstrip()}"


FRONT_MATTER_KEY = "front-matter"


def split_sections(markdown: str) -> "OrderedDict[str, str]":
    """Section key -> its text, in order. Text before the first marker is ``"_preamble"``;
    the front matter, if any, is ``"front-matter"``."""
    out: OrderedDict[str, str] = OrderedDict()
    m = FRONT_MATTER_RE.match(markdown)
    if m:
        out[FRONT_MATTER_KEY] = m.group(0)
        markdown = markdown[m.end() :]
    marks = list(SECTION_MARK_RE.finditer(markdown))
    start = marks[0].start() if marks else len(markdown)
    if markdown[:start].strip():
        out["_preamble"] = markdown[:start]
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(markdown)
        key = mark.group(1)
        while key in out:
            key += "-2"
        out[key] = markdown[mark.start() : end]
    return out
