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
from roundtable.services.briefs.prose import a_or_an, as_sentence, capitalize_first, trim_sentence
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
# its name count double, and the word that says what kind of thing it is (``resource_kind``) counts
# twice more. A rule may also require other words (``needs``) to match. A rule ``within`` a category
# takes from it the resources whose words match its own: international networks are networks first.
RESOURCE_RULES: list[dict] = [
    {"category": "Municipal and Advocacy Networks (International)",
     "within": ["Municipal and Advocacy Networks (US-based)"],
     "match": ["international", "global", "worldwide", "transnational", "cross-border", "europe", "european",
               "eu", "latin america", "latin american", "africa", "african", "asia", "asian", "canada", "canadian",
               "mexico", "mexican", "united kingdom", "uk", "cities of sanctuary"]},
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


def categorize(name: str, words: str, url: str, rules: list[dict], kind: str | None = None) -> str:
    """The resource's category by the first best-scoring rule (name words count double, its kind twice more),
    then moved by the first rule ``within`` that category whose words it matches."""
    name, words = name.lower(), f"{words} {url}".lower().replace("-", " ")
    best, best_score = FURTHER, 0
    for rule in rules:
        if rule.get("within") or (rule.get("needs") and not any(_has(name, w) or _has(words, w)
                                                                  for w in rule["needs"])):
            continue
        score = sum(2 * _has(name, w) + _has(words, w) for w in rule.get("match", ()))
        score = rule.get("weight", 1) * (score + 2 * (kind in rule.get("match", ())))
        if score > best_score:
            best, best_score = rule["category"], score
    for rule in rules:
        if best in (rule.get("within") or ()) and any(_has(name, w) or _has(words, w) for w in rule.get("match", ())):
            return rule["category"]
    return best


# Words that say what kind of thing a resource is ("tracker", "report"): the head of its name.
RESOURCE_KINDS = frozenset({
    "report", "reports", "study", "studies", "research", "survey", "data", "dataset", "database", "map", "maps",
    "dashboard", "evaluation", "paper", "index", "brief", "institute", "center", "centre", "lab", "toolkit",
    "template", "templates", "guide", "guides", "guidance", "manual", "handbook", "curriculum", "playbook",
    "checklist", "packet", "one-pager", "leaflet", "flyer", "sheet", "card", "cards", "explainer", "video", "videos",
    "webinar", "course", "training", "kit", "slides", "tracker", "ordinance", "law", "statute", "bill", "memo",
    "analysis", "ruling", "resolution", "policy", "network", "coalition", "alliance", "association", "league",
    "consortium", "federation", "collaborative", "hotline", "program", "programme", "fund", "clinic", "directory",
    "list", "tool", "app", "website", "podcast", "article", "petition", "form", "forms", "project", "initiative",
    "campaign"})
_UNCOUNTED_KINDS = {"research", "data", "guidance", "training"}
_HEAD_ENDS = {"of", "on", "for", "from", "to", "by", "about", "in", "with", "against", "at"}


def resource_kind(name: str) -> str | None:
    """The word of a resource's name that says what it is: the last kind word before its first preposition
    or comma ("Due Process Defense Network report on outcomes": report), else the last one anywhere."""
    head: list[str] = []
    words = [w.lower().strip("()[]:;.\"'”“") for w in name.split()]
    for raw, word in zip(name.split(), words):
        if word in _HEAD_ENDS:
            break
        head.append(word.rstrip(","))
        if raw.endswith(","):
            break
    for part in (head, [w.rstrip(",") for w in words]):
        kinds = [w for w in part if w in RESOURCE_KINDS]
        if kinds:
            return kinds[-1]
    return None


def _is_bare(kind: str) -> bool:
    """Whether a kind is said without "a": uncounted ("research") or plural ("templates")."""
    return kind in _UNCOUNTED_KINDS or (kind.endswith("s") and not kind.endswith(("sis", "us", "ss")))


def describe_resource(kind: str | None, words: str, role: str, session: int | None, where: str) -> str:
    """One sentence from the series' own words: what the link is (the note's words about it joined to its kind,
    in their own case), who shared it (a role), in which session, and where in the discussion."""
    words = " ".join(words.split()).strip(" .")
    if len(words.split()) >= 5:  # the note's own phrase says what it is
        return words
    kind = kind or resource_kind(words) or "resource"
    if any(w.lower().strip(",") == kind for w in words.split()):  # "international municipal network"
        lead = words if _is_bare(kind) else f"{a_or_an(words)} {words}"
    elif words and len(words.split()) == 1:  # "multilingual", "volunteer-maintained"
        lead = f"{words} {kind}" if _is_bare(kind) else f"{a_or_an(words)} {words} {kind}"
    else:
        lead = kind if _is_bare(kind) else f"{a_or_an(kind)} {kind}"
        lead += f" ({words})" if words else ""
    by = f" by {a_or_an(role)} {role}" if role and role != "participant" else ""
    at = f" in session {session}" if session else " during the series"
    return f"{capitalize_first(lead)}, shared{by}{at}{where}."


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
    name, words = name_and_words(note_text, url)
    return name, capitalize_first(words)


def name_and_words(note_text: str, url: str) -> tuple[str, str]:
    """A resource's name and the note's other words about it, in the note's own case."""
    for label, link in _MD_LINK_RE.findall(note_text):
        if link.rstrip(".,;") == url:
            return capitalize_first(label.strip()), ""
    prose = expand_shorthand(note_text)
    before, after = _around(prose, url)
    if before is None:  # its name was anonymized away: the address names it, the words after describe it
        return "", after.strip()
    text = before or after
    description = ""
    m = re.match(r"^(.*?)\s*\(([^()]{3,80})\)\s*$", text)
    if m:
        text, description = m.group(1), m.group(2)
    for sep in ("; ", " - ", ": ", ", "):
        if len(text.split()) > 9 and sep in text:
            head, tail = text.split(sep, 1)
            text, description = (head, tail) if len(head.split()) >= 2 else (tail, description or head)
    # "card templates, print-ready, 12 languages": short lower-case fragments after its name describe it.
    parts, tail = text.split(", "), []
    while len(parts) > 1 and len(parts[-1].split()) <= 3 and re.match(r"[a-z0-9]", parts[-1]) \
            and not re.search(r"(?<![\w-])(?:and|or)(?![\w-])", parts[-1]) and len(" ".join(parts[:-1]).split()) >= 2:
        tail.insert(0, parts.pop())
    if tail:
        text, description = ", ".join(parts), ", ".join(tail + ([description] if description else []))
    if len(text.split()) > 10:
        text = " ".join(text.split()[:10])
    if not description and after and text != after:
        description = after
    name = capitalize_first(text.strip()) if len(text) >= 3 and reads_as_name(text.strip()) else ""
    return name, description.strip()


def _where(note: NoteItem | None, context: BriefContext, theme_of: dict[int, str]) -> str:
    """Where in the discussion a link was shared: the sub-theme (else theme) its note is coded with, else
    the session's own title (a bare "Session 2" says nothing)."""
    if note is None:
        return ""
    if note.id in theme_of:
        return f" in the discussion of {theme_of[note.id]}"
    title = next((s.title.strip() for s in context.sessions if s.number == note.session_number), "")
    return f" ({title})" if title and title.lower() != f"session {note.session_number}" else ""


def collect_resources(context: BriefContext) -> "OrderedDict[str, list[ResourceItem]]":
    """Every link mentioned in the series, once, named and sorted into the anatomy's groups."""
    # A series' own rules come first and outweigh the defaults wherever they match.
    own = [{**rule, "weight": rule.get("weight", 10)} for rule in context.settings.get("resource_rules") or []
           if isinstance(rule, dict) and rule.get("category")]
    rules = own + RESOURCE_RULES
    items: list[ResourceItem] = []
    notes_by_id = {n.id: n for n in context.notes}
    theme_of: dict[int, str] = {}  # the most specific theme each note is coded with
    for t in context.themes:
        for child in t.children:  # not "n in child.notes" per note: comparing dataclasses, 1 s at 2,000 notes
            for n in child.notes:
                theme_of.setdefault(n.id, child.name)
        for n in t.notes:
            theme_of.setdefault(n.id, t.name)
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
        note = note_of.get(url_key(r.url)) or notes_by_id.get(r.note_id)
        name, words = name_and_words(note.text, r.url) if note else ("", "")
        if mentions(name, context.hidden_words):
            name = ""
        if mentions(words, context.hidden_words) or words.lower().strip(" .()") in ANONYMIZER_LABELS \
                or PLACEHOLDER_RE.search(words):
            words = ""
        r.title = r.title or name or name_from_url(r.url)
        if not r.title:
            r.title = f"Link shared in session {note.session_number}" if note else "Link shared in the series"
        kind = resource_kind(name)
        own_words = f"{r.description or words} {note.prose if note else ''}"
        if not r.description:
            role = note.role if note and not mentions(note.role, context.hidden_words) else ""
            r.description = describe_resource(kind, words, role, note.session_number if note else None,
                                              _where(note, context, theme_of))
        r.description = as_sentence(trim_sentence(r.description, 200).rstrip("."))
        if not r.category.strip():
            # Sorted by its own words: where it was shared ("in the discussion of <theme>") is not about the link.
            r.category = categorize(r.title, own_words, r.url, rules, kind or resource_kind(words))
    groups: dict[str, list[ResourceItem]] = {}
    for r in items:
        groups.setdefault(r.category.strip(), []).append(r)
    known = [c for c in RESOURCE_CATEGORY_ORDER if c in groups]
    rest = sorted(c for c in groups if c not in RESOURCE_CATEGORY_ORDER and c != FURTHER)
    ordered: OrderedDict[str, list[ResourceItem]] = OrderedDict()
    for c in known + rest + ([FURTHER] if FURTHER in groups else []):
        ordered[c] = sorted(groups[c], key=lambda r: r.title.lower())
    return ordered
