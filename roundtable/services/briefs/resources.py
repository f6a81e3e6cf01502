"""Resources and Partners: every link mentioned in a series, once, named and grouped."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from roundtable.services.anonymize.policies import _AFFILIATION_LABELS
from roundtable.services.briefs.context import ResourceItem
from roundtable.services.briefs.glossary import expand_shorthand
from roundtable.services.briefs.markdown import url_key, url_label
from roundtable.services.briefs.prose import as_sentence, capitalize_first, trim_sentence
from roundtable.services.briefs.realize import PLACEHOLDER_RE
from roundtable.services.briefs.synthesis import mentions

if TYPE_CHECKING:
    from roundtable.services.briefs.context import BriefContext, NoteItem

# Categories of the anatomy's "Resources and Partners", in the order it lists them.
RESOURCE_CATEGORY_ORDER = (
    "Research and Policy Organizations",
    "Municipal and Advocacy Networks (US-based)",
    "Municipal and Advocacy Networks (International)",
    "Legal and Policy Analysis",
    "Toolkits",
    "Community Support and Accompaniment Programs",
)


FURTHER = "Further Resources"
OTHER_LINKS = FURTHER  # the heading of links no rule places

# Default rules, tried in order after a series' own (``brief_settings: {resource_rules: [...]}``):
# the category whose words a resource's name, description and note match most wins; words in
# its name count double. A rule may also require other words (``needs``) to match.
RESOURCE_RULES: list[dict] = [
    {"category": "Municipal and Advocacy Networks (International)",
     "match": ["international", "global", "europe", "european", "worldwide", "transnational", "welcoming cities",
               "welcoming-cities", "cities of sanctuary", "latin america", "canada", "mexico", "united kingdom"],
     "needs": ["network", "networks", "coalition", "alliance", "cities", "municipal", "association", "study",
               "mayors", "federation"], "weight": 3},
    {"category": "Municipal and Advocacy Networks (US-based)",
     "match": ["network", "coalition", "alliance", "association", "league", "mayors", "consortium", "federation",
               "collaborative", "cities for"]},
    {"category": "Toolkits",
     "match": ["toolkit", "tool kit", "playbook", "template", "templates", "guide", "manual", "handbook",
               "curriculum", "checklist", "packet", "one-pager", "card", "cards", "training", "how-to", "kit",
               "explainer", "videos", "design guide", "print-ready"]},
    {"category": "Legal and Policy Analysis",
     "match": ["litigation", "lawsuit", "court", "ruling", "legal", "law", "ordinance", "statute", "policy options",
               "analysis", "memo", "amicus", "tracker", "legislation", "bill", "regulation", "rights", "due process",
               "affidavit", "counsel"]},
    {"category": "Research and Policy Organizations",
     "match": ["institute", "research", "study", "report", "survey", "data", "center", "centre", "lab",
               "university", "evaluation", "statistics", "think tank", "policy", "map", "outcomes"]},
    {"category": "Community Support and Accompaniment Programs",
     "match": ["accompaniment", "mutual aid", "hotline", "rapid response", "family", "families", "faith",
               "congregation", "congregations", "support", "care", "volunteer", "volunteers", "shelter",
               "legal observer", "debrief", "peer", "responders", "community"]},
]
SHORTENERS = {"bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "buff.ly", "is.gd", "rebrand.ly", "lnkd.in"}
_MD_LINK_RE = re.compile(r"\[([^\]]{2,120})\]\((https?://[^)\s]+)\)")


def _has(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def categorize(name: str, words: str, url: str, rules: list[dict]) -> str:
    """The resource's category by the first best-scoring rule (name words count double)."""
    name, words = name.lower(), f"{words} {url}".lower().replace("-", " ")
    best, best_score = FURTHER, 0
    for rule in rules:
        if rule.get("needs") and not any(_has(name, w) or _has(words, w) for w in rule["needs"]):
            continue
        score = rule.get("weight", 1) * sum(2 * _has(name, w) + _has(words, w) for w in rule.get("match", ()))
        if score > best_score:
            best, best_score = rule["category"], score
    return best


# The role policy's stand-ins for an organization's name ("federal funding map (an organization)"): no description.
ANONYMIZER_LABELS = frozenset({"an organization", *(label for _keys, label in _AFFILIATION_LABELS)})
_NOT_A_NAME_RE = re.compile(r"^(?:if|when|while|because|since|although|so|to|and|but|or)\b|"
                            r"(?<![\w-])(?:i|you|we|they|he|she|it|your|our|their)(?![\w-])", re.I)


def reads_as_name(text: str) -> bool:
    """Whether the words a note puts by a link can name it: not a clause ("If you are using npm you can install"),
    and not one word typed in lower case ("script-src" before an address in a quoted policy)."""
    words = text.split()
    if not words or _NOT_A_NAME_RE.search(text.replace("`", "")):
        return False
    return len(words) >= 2 or any(c.isupper() for c in words[0])


def name_from_url(url: str) -> str:
    """A stand-in name from the address: the host as written ("migrationpolicy.org"), short hosts in capitals."""
    host = url_label(url)
    if host in SHORTENERS:
        return ""
    stem = host.split(".")[0]
    return stem.upper() if len(stem) <= 4 and stem.isalpha() and host.count(".") == 1 else host


def _around(text: str, url: str) -> tuple[str | None, str]:
    """The clause before a URL in a note (``None`` when it is an anonymizer placeholder) and the clause after it."""
    at = text.find(url)
    before, after = (text[:at], text[at + len(url):]) if at >= 0 else (text, "")
    before = re.split(r"(?<=[.;!?])\s+", before.strip())[-1] if before.strip() else ""
    after = re.split(r"(?<=[.;!?])\s+", after.strip())[0] if after.strip() else ""
    def clean(clause: str) -> str | None:
        if PLACEHOLDER_RE.fullmatch(clause.strip(" -–—:;,()")):  # "[name] (https://…)": the anonymizer took it
            return None
        clause = clause.strip(" -–—:;,([`").lstrip(")` ")  # ") is an auditor" after "WAVE (https://…"
        return re.sub(r"^(?:see|link|resource|more|via|at|here)\s*[:\-–—]?\s*", "", clause, flags=re.I).strip(" -–—:;,([")

    # "WAVE (https://…) is an auditor": the words after the link describe it without their verb.
    return clean(before), re.sub(r"^(?:is|are)\s+(?=\w)", "", clean(after) or "")


def name_and_description(note_text: str, url: str) -> tuple[str, str]:
    """A resource's name from the note's own words (link text, else the words before or after the
    link), and a one-sentence description from the rest of the note."""
    for label, link in _MD_LINK_RE.findall(note_text):
        if link.rstrip(".,;") == url:
            return capitalize_first(label.strip()), ""
    prose = expand_shorthand(note_text)
    before, after = _around(prose, url)
    if before is None:  # its name was anonymized away: the address names it, the words after describe it
        return "", capitalize_first(after.strip())
    text = before or after
    description = ""
    m = re.match(r"^(.*?)\s*\(([^()]{3,80})\)\s*$", text)
    if m:
        text, description = m.group(1), m.group(2)
    for sep in ("; ", " - ", ": ", ", "):
        if len(text.split()) > 9 and sep in text:
            head, tail = text.split(sep, 1)
            text, description = (head, tail) if len(head.split()) >= 2 else (tail, description or head)
    if len(text.split()) > 10:
        text = " ".join(text.split()[:10])
    if not description and after and text != after:
        description = after
    name = capitalize_first(text.strip()) if len(text) >= 3 and reads_as_name(text.strip()) else ""
    return name, capitalize_first(description.strip())


def _mentioned(note_id, session_of: dict, theme_of: dict) -> str:
    if note_id not in session_of:
        return "Mentioned during the series."
    where = f" in the discussion of {theme_of[note_id]}" if note_id in theme_of else ""
    return f"Shared in session {session_of[note_id]}{where}."


def collect_resources(context: BriefContext) -> "OrderedDict[str, list[ResourceItem]]":
    """Every link mentioned in the series, once, named and sorted into the anatomy's groups."""
    # A series' own rules come first and outweigh the defaults wherever they match.
    own = [{**rule, "weight": rule.get("weight", 10)} for rule in context.settings.get("resource_rules") or []
           if isinstance(rule, dict) and rule.get("category")]
    rules = own + RESOURCE_RULES
    items: list[ResourceItem] = []
    session_of = {n.id: n.session_number for n in context.notes}
    theme_of = {n.id: t.name for t in context.themes for n in t.all_notes()}
    by_key: dict[str, ResourceItem] = {}
    for r in context.resources:
        key = url_key(r.url)
        if key not in by_key:
            by_key[key] = ResourceItem(r.url, r.title, r.description, r.category, r.note_id)
            items.append(by_key[key])
    note_of: dict[str, NoteItem] = {}
    for n in context.notes:
        for u in n.links:
            key = url_key(u)
            note_of.setdefault(key, n)
            if key not in by_key:
                by_key[key] = ResourceItem(u, "", "", "", n.id)
                items.append(by_key[key])
            elif "//" in urlsplit(by_key[key].url).path and "//" not in urlsplit(u).path:
                by_key[key].url = u  # ".../checker//" and ".../checker/" are one page: show the clean address
    for r in items:
        note = note_of.get(url_key(r.url))
        name, description = name_and_description(note.text, r.url) if note else ("", "")
        if mentions(name, context.hidden_words):
            name = ""
        if mentions(description, context.hidden_words) or description.lower().rstrip(".") in ANONYMIZER_LABELS:
            description = ""
        r.title = r.title or name or name_from_url(r.url)
        if not r.title:
            session = session_of.get(r.note_id)
            r.title = f"Link shared in session {session}" if session else "Link shared in the series"
        own_words = f"{r.description or description} {note.prose if note else ''}"
        if not r.description:
            r.description = description or _mentioned(r.note_id, session_of, theme_of)
        r.description = as_sentence(trim_sentence(r.description, 200).rstrip("."))
        if not r.category.strip():
            # Sorted by its own words: the stand-in "Shared in the discussion of <theme>" is not about the link.
            r.category = categorize(r.title, own_words, r.url, rules)
    groups: dict[str, list[ResourceItem]] = {}
    for r in items:
        groups.setdefault(r.category.strip(), []).append(r)
    known = [c for c in RESOURCE_CATEGORY_ORDER if c in groups]
    rest = sorted(c for c in groups if c not in RESOURCE_CATEGORY_ORDER and c != FURTHER)
    ordered: OrderedDict[str, list[ResourceItem]] = OrderedDict()
    for c in known + rest + ([FURTHER] if FURTHER in groups else []):
        ordered[c] = sorted(groups[c], key=lambda r: r.title.lower())
    return ordered
