"""Build the published-prose tagging sets from 18F's guides (public domain, CC0).

    git clone https://github.com/18F/guides && git -C guides checkout debc24b34f23686194d9fe42e391859d569bd39a
    python bench/make_guides_set.py guides

18F's guides are US government works, in the public domain in the US and
dedicated worldwide under CC0 1.0 (the repository's ``LICENSE.md``). Nobody on
this project wrote them. Each *report* takes two chapters of one guide as the
two sections of a codebook; a chapter's pages (or, where a chapter is one page,
its ``##`` headings) are the themes, named by their own titles, with the page's
``description`` when it has one and its next level of headings as sub-themes.
Notes are the report's own bullets and the sentences of its paragraphs, each
labelled with the theme it was written under (a theme needs five). A theme's notes, in reading
order, are cut into five consecutive parts, the five "sessions" of the series.

The reports are fixed here, before any figure was computed: three for
development (``dev``) and three held out (``heldout``), which nothing is tuned on.
A fourth held-out report, ``accessibility`` (``heldout-links``), keeps each link's
web address in its note ("WAVE (https://wave.webaim.org/) is an accessibility
auditor"), as a note-taker would type it, so the brief's Resources can be checked
on text nobody here wrote; it has a file of its own so the tagging sets stay as
they were.
``dev-extra`` holds two more reports for tuning, added in the fourth session from chapters of the dev
guides that no other report uses (the held-out sets are unchanged).
Writes ``bench/data/guides/{dev,dev-extra,heldout,heldout-links}.jsonl`` and one codebook per report.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "guides"
SESSIONS = 5
MAX_NOTES_PER_THEME = 25
MIN_WORDS = 6
MAX_WORDS = 60
# Headings that are not about the page's subject.
SKIPPED_HEADINGS = re.compile(
    r"^(resources|additional (reading|resources)|further reading|references|related|see also|"
    r"learn more|examples?|templates?|tools|overview|summary|introduction|contents)\b", re.I,
)
ENUMERATION = re.compile(r"^(?:[A-Za-z]+\s)?#?\d+[.:)]\s*")
HEADING_ID = re.compile(r"\s*{#[^}]*}\s*$")

# (report, set, [(section file or folder, pages or None for the chapter's own ## headings[, section name])])
REPORTS = [
    ("product", "dev", [("product/discover", ["compliance", "stakeholders", "technical", "users"]),
                        ("product/define", ["problem", "roadmap", "strategy", "vision"])]),
    ("ux-guide", "dev", [("ux-guide/our-approach", ["defining-design", "meet-people-where-they-are", "stay-lean",
                                                    "values-and-principles"]),
                         ("ux-guide/research", ["accessibility", "bias", "clarify-the-basics", "do", "ethics"])]),
    ("engineering", "dev", [("engineering/our-approach", ["apis", "architecture-reviews", "code-review",
                                                          "development-environments", "example-workflows"]),
                            ("engineering/security", ["cloud-services", "content-security-policy",
                                                      "dependency-remediation", "incident-response-drills"])]),
    ("derisking", "heldout", [("derisking-government-tech/home/principles", None),
                              ("derisking-government-tech/home/vendor-management", None)]),
    ("content-guide", "heldout", [("content-guide/our-approach", ["address-the-user", "avoid-duplication",
                                                                  "be-concise", "gather-feedback", "keep-refining"]),
                                  ("content-guide/our-style", ["abbreviations-and-acronyms", "active-voice",
                                                               "capitalization", "inclusive-language"])]),
    ("methods", "heldout", [("methods/discover", ["cognitive-walkthrough", "contextual-inquiry", "design-studio",
                                                  "dot-voting", "five-whys"]),
                            ("methods/validate", ["card-sorting", "content-highlighter-testing", "metrics",
                                                  "multivariate-testing"])]),
    # More tuning reports (fourth session), from chapters of the dev guides that no report used: with dev's 578
    # notes alone one standard error (0.02) was as large as every difference between methods.
    ("product-delivery", "dev-extra", [("product/deliver", ["build", "collaborate", "measure"]),
                                       ("product/partners", ["capacity", "coach", "transition", "vendor"])]),
    ("engineering-tools", "dev-extra", [("engineering/languages-runtimes", ["css", "javascript", "language-selection",
                                                                             "markdown", "nodejs", "python", "ruby"]),
                                        ("engineering/tools", ["accessibility-scanning", "browser-testing",
                                                               "continuous-deployment", "datastore-selection",
                                                               "docker", "tests", "web-architecture"])]),
    # Both sections come from one folder, so each is named here; links keep their web addresses.
    ("accessibility", "heldout-links", [("accessibility", ["color", "forms", "images", "keyboard", "headings",
                                                           "tables", "multimedia", "hiddencontent"], "Checklist"),
                                        ("accessibility", ["tools", "gov-resources", "writingguide", "checklist",
                                                           "videos"], "Tools and Resources")]),
]
WITH_LINKS = {"accessibility"}

_md = MarkdownIt("commonmark")
_TEMPLATE = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_HTML = re.compile(r"<[^>]+>")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"(])")


def front_matter(text: str) -> tuple[dict, str]:
    if text.startswith("---"):
        _, head, body = text.split("---", 2)
        return yaml.safe_load(head) or {}, body
    return {}, text


def plain(inline, links: bool = False) -> str:
    """The text of an inline token, without markup or images; a link's web address follows its text
    in brackets when ``links`` (else it is dropped)."""
    parts, href = [], None
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif links and child.type == "link_open":
            href = child.attrs.get("href", "")
        elif links and child.type == "link_close":
            if re.match(r"https?://", href or ""):
                parts.append(f" ({href})")
            href = None
    text = _HTML.sub(" ", "".join(parts))
    return " ".join(text.split())


def heading_name(text: str) -> str:
    return ENUMERATION.sub("", HEADING_ID.sub("", text)).strip().rstrip(":")


def blocks(body: str, links: bool = False):
    """(heading level, heading text) and ('note', text) events in reading order."""
    tokens = _md.parse(_TEMPLATE.sub(" ", body))
    in_list = 0
    for i, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            in_list += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            in_list -= 1
        elif token.type == "heading_open":
            yield int(token.tag[1]), plain(tokens[i + 1])
        elif token.type == "inline" and tokens[i - 1].type == "paragraph_open":
            text = plain(token, links)
            if in_list:
                yield "note", text
            else:
                for sentence in _SENTENCE.split(text):
                    yield "note", sentence


def usable(text: str) -> bool:
    count = len(text.split())
    return MIN_WORDS <= count <= MAX_WORDS and not text.endswith(":")


def themes_of_chapter(path: Path, pages, links: bool = False):
    """[(theme name, description, sub-theme names, notes)] for one chapter."""
    themes = []
    if pages is None:
        meta, body = front_matter(path.with_suffix(".md").read_text(encoding="utf-8"))
        current = None
        for kind, text in blocks(body):
            if kind == 2:
                name = heading_name(text)
                current = None if SKIPPED_HEADINGS.match(name) else (name, "", [], [])
                if current:
                    themes.append(current)
            elif kind == 3 and current and not SKIPPED_HEADINGS.match(heading_name(text)):
                current[2].append(heading_name(text))
            elif kind == "note" and current and usable(text):
                current[3].append(text)
        return meta.get("title", path.name), themes
    meta, _ = front_matter((path / "index.md").read_text(encoding="utf-8")) if (path / "index.md").exists() else ({}, "")
    for page in pages:
        page_meta, body = front_matter((path / f"{page}.md").read_text(encoding="utf-8"))
        subs, notes, skipping = [], [], False
        for kind, text in blocks(body, links):
            if kind == 2:
                skipping = bool(SKIPPED_HEADINGS.match(heading_name(text)))
                if not skipping:
                    subs.append(heading_name(text))
            elif kind == "note" and not skipping and usable(text):
                notes.append(text)
        themes.append((heading_name(page_meta["title"]), page_meta.get("description", "") or "", subs, notes))
    section = (meta.get("eleventyNavigation") or {}).get("title") or meta.get("title") or path.name
    return section.replace("-", " ").capitalize() if section == path.name else section, themes


def spread(notes: list[str], limit: int) -> list[str]:
    """At most ``limit`` notes, evenly spaced in reading order."""
    if len(notes) <= limit:
        return notes
    return [notes[round(i * (len(notes) - 1) / (limit - 1))] for i in range(limit)]


def build(guides: Path) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {"dev": [], "dev-extra": [], "heldout": [], "heldout-links": []}
    (OUT / "codebooks").mkdir(parents=True, exist_ok=True)
    for report, split, chapters in REPORTS:
        codebook = []
        read = []
        for chapter, pages, *name in chapters:
            section, themes = themes_of_chapter(guides / "content" / chapter, pages, report in WITH_LINKS)
            read.append((name[0] if name else section, themes))
        chapters = read
        # A sub-heading that several themes share ("Activities: How to get there") names no sub-theme.
        sub_counts = Counter(s.casefold() for _, themes in chapters for t in themes for s in set(t[2]))
        for section, themes in chapters:
            for name, description, subs, notes in themes:
                if len(notes) < SESSIONS:
                    continue
                theme = {"name": name, "section": section}
                if description:
                    theme["description"] = " ".join(description.split())
                known = {name.casefold()}
                children = []
                for sub in subs:
                    if sub.casefold() not in known and sub_counts[sub.casefold()] == 1:
                        known.add(sub.casefold())
                        children.append({"name": sub})
                if children:
                    theme["children"] = children
                codebook.append(theme)
                notes = spread(list(dict.fromkeys(notes)), MAX_NOTES_PER_THEME)
                for i, text in enumerate(notes):
                    rows[split].append({
                        "id": f"{report}-{len(rows[split]):04d}", "report": report, "section": section,
                        "theme": name, "session": 1 + i * SESSIONS // len(notes), "text": text,
                    })
        header = (f"# {report}: two chapters of 18F's guides (public domain, CC0 1.0), "
                  f"github.com/18F/guides at debc24b. Built by bench/make_guides_set.py.\n")
        (OUT / "codebooks" / f"{report}.yaml").write_text(
            header + yaml.safe_dump({"themes": codebook}, sort_keys=False, allow_unicode=True, width=120),
            encoding="utf-8")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guides", type=Path, help="a checkout of github.com/18F/guides")
    args = parser.parse_args(argv)
    rows = build(args.guides)
    for split, items in rows.items():
        with (OUT / f"{split}.jsonl").open("w", encoding="utf-8") as out:
            for row in items:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{split}: {len(items)} notes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
