"""Resources and Partners: every link mentioned in a series, once, named and grouped."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import TYPE_CHECKING

from roundtable.services.briefs.context import ResourceItem
from roundtable.services.briefs.markdown import URL_RE, url_key, url_label
from roundtable.services.briefs.prose import capitalize_first, title_case, trim_sentence

if TYPE_CHECKING:
    from roundtable.services.briefs.context import BriefContext

# Categories of the anatomy's "Resources and Partners", in the order it lists them.
RESOURCE_CATEGORY_ORDER = (
    "Research and Policy Organizations",
    "Municipal and Advocacy Networks (US-based)",
    "Municipal and Advocacy Networks (International)",
    "Legal and Policy Analysis",
    "Toolkits",
    "Community Support and Accompaniment Programs",
)


OTHER_LINKS = "Other Links Mentioned"


def name_from_url(url: str) -> str:
    """"Open Records Kit" from https://open-records-kit.example.org/...: a readable stand-in name."""
    host = url_label(url).split(".")[0]
    return title_case(re.sub(r"[-_]+", " ", host)) if host else url


def describe_from_note(text: str, url: str) -> str:
    """The words of the note that mentioned a link, without the link: its one-line description."""
    words = URL_RE.sub("", text)
    words = re.sub(r"\s*[-:–—]\s*$", "", " ".join(words.split())).strip(" -:;,([")
    words = re.sub(r"\(\s*\)|\[\s*\]", "", words).strip()
    if len(words) < 12:
        return ""
    return capitalize_first(trim_sentence(words, 160))


def collect_resources(context: BriefContext) -> "OrderedDict[str, list[ResourceItem]]":
    """Every link mentioned in the series, once, grouped by category in the anatomy's order."""
    seen: set[str] = set()
    items: list[ResourceItem] = []
    for r in context.resources:
        key = url_key(r.url)
        if key not in seen:
            seen.add(key)
            items.append(r)
    for n in context.notes:
        for u in n.links:
            key = url_key(u)
            if key not in seen:
                seen.add(key)
                items.append(ResourceItem(u, name_from_url(u), describe_from_note(n.text, u), "", n.id))
    groups: dict[str, list[ResourceItem]] = {}
    for r in items:
        groups.setdefault(r.category.strip() or OTHER_LINKS, []).append(r)
    known = [c for c in RESOURCE_CATEGORY_ORDER if c in groups]
    rest = sorted(c for c in groups if c not in RESOURCE_CATEGORY_ORDER and c != OTHER_LINKS)
    ordered: OrderedDict[str, list[ResourceItem]] = OrderedDict()
    for c in known + rest + ([OTHER_LINKS] if OTHER_LINKS in groups else []):
        ordered[c] = sorted(groups[c], key=lambda r: (r.title or url_label(r.url)).lower())
    return ordered
