"""Note-taker shorthand written out for prose, and speaker prefixes taken off notes.

Notes are typed fast ("ppl removed w/in 72 hrs -> no lawyer contact"); a
published brief reads "people removed within 72 hours, leading to no lawyer
contact". :data:`SHORTHAND` is the glossary (documented in ``docs/briefs.md``);
a series extends it with ``brief_settings: {glossary: {"RRN": "rapid response
network"}}`` in its ``series.yaml``, and a plugin by adding to the mapping it
is given by :func:`clean_note`'s ``glossary`` argument.

Words are only ever replaced whole, never re-cased: a first letter may be
raised at the start of a sentence, nothing is ever lowered, so a name typed
in a note keeps the capital the export gate looks for.
"""

from __future__ import annotations

import functools
import re

# Shorthand -> words. Keys match whole tokens, case-sensitively as listed
# (lower-case keys also match a capitalized token, which keeps its capital).
SHORTHAND: dict[str, str] = {
    "w/": "with", "w/o": "without", "w/in": "within", "b/c": "because", "bc": "because", "b4": "before",
    "ppl": "people", "yr": "year", "yrs": "years", "hr": "hour", "hrs": "hours", "wk": "week", "wks": "weeks",
    "mo": "month", "mos": "months", "min": "minute", "mins": "minutes", "govt": "government", "gov": "government",
    "esp": "especially", "incl": "including", "approx": "approximately", "abt": "about", "thru": "through",
    "orgs": "organizations", "org": "organization", "dept": "department", "depts": "departments",
    "info": "information", "docs": "documents", "atty": "attorney", "attys": "attorneys", "reps": "representatives",
    "rep": "representation", "mgmt": "management", "mtg": "meeting", "mtgs": "meetings", "comms": "communications",
    "stats": "statistics", "ops": "operations", "apt": "apartment", "apts": "apartments", "langs": "languages",
    "avg": "average", "est": "estimated", "cert": "certification", "prelim": "preliminary", "op": "operation",
    "feds": "federal agents", "vs": "versus", "vs.": "versus", "re:": "regarding", "tbd": "to be decided", "asap": "as soon as possible",
    "KYR": "know-your-rights", "PD": "police department", "Feb": "February", "Aug": "August", "Sept": "September",
    "Sep": "September", "Apr": "April", "Jun": "June", "Jul": "July", "Oct": "October", "Nov": "November", "Dec": "December", "&": "and", "=": "is",
    "$$": "money", "$": "money", "+": "and", "->": "leading to", "→": "leading to", "=>": "leading to",
}

_UNITS = {"M": "million", "m": "million", "B": "billion", "bn": "billion", "K": "thousand", "k": "thousand"}
_PER = {"yr": "a year", "year": "a year", "mo": "a month", "month": "a month", "wk": "a week", "week": "a week",
        "hr": "an hour", "day": "a day"}

# "A funder: ...", "A community organizer says ...", "A municipal leader from the library: ...".
_ROLE_WORDS = (
    r"participant|advocate|leader|organi[sz]er|scholar|funder|lawyer|attorney|official|researcher|defender|"
    r"facilitator|member|staffer|worker|director|panelist|speaker|someone|person|representative|expert|"
    r"academic|professor|pastor|clergy|volunteer|journalist|officer|staff|mayor|councilmember|analyst|manager|"
    r"reverend|minister|student|resident|chair|coordinator"
)
SPEAKER_PREFIX_RE = re.compile(
    r"^(?:(?:an?|the|one|another|some|several|two|three|other)\s+)"
    rf"(?P<role>(?:[\w-]+\s+){{0,3}}?(?:{_ROLE_WORDS})s?)"
    r"(?:\s+(?:from|at|with|of)\s+(?:the\s+|an?\s+)?[\w'’-]+(?:\s+[\w'’-]+){0,3}?)?"
    r"\s*(?:\([^)]{0,40}\)\s*)?"
    r"(?P<verb>:|\s(?:says|said|notes|noted|adds|added|argues|argued|asks|asked|reports|reported|explains|"
    r"explained|thinks|stresses|stressed|mentions|mentioned|shares|shared)\b\s*(?:that\b)?\s*:?)\s*",
    re.I,
)
# Dissent said by the prefix: kept as the note's stance, the prefix itself removed.
DISSENT_PREFIX_RE = re.compile(
    r"^(?:(?:an?|the|one|another|some|several|other)\s+)"
    rf"(?P<role>(?:[\w-]+\s+){{0,3}}?(?:{_ROLE_WORDS})s?)\s+"
    r"(?P<verb>(?:partly\s+|strongly\s+)?(?:disagrees?|disagreed|pushe[sd] back|push back|objects?|objected|"
    r"cautions?|cautioned|warns?|warned|counters?|countered|questions?|questioned))\b(?:\s+(?:with|on|that))?\s*:?\s*",
    re.I,
)
# Labels note-takers put in front of a line ("general takeaway:", "Q:", "update:").
LABEL_PREFIX_RE = re.compile(
    r"^(?:general\s+)?(?:takeaway|update|idea|action|todo|to do|note|fyi|q|a|ai|follow[- ]up|next steps?)\s*:\s*",
    re.I,
)

_URL_RE = re.compile(r"https?://\S+|\[[^\]]*\]\([^)]*\)", re.I)
_PLURAL_UNIT_RE = re.compile(r"\b((?!1\b)\d[\d,.]*)\s(hour|week|year|month|minute)\b(?!s)")
_MONEY_RE = re.compile(r"\$(\d+(?:\.\d+)?)\s?(M|m|B|bn|K|k)\b(?:\s?/\s?(yr|year|mo|month|wk|week|hr|day)\b)?")
_PER_RE = re.compile(r"(?<=\w)\s?/\s?(yr|year|mo|month|wk|week|day)\b")
_TIMES_RE = re.compile(r"(?<![\w.])~?(\d+(?:\.\d+)?)x\b")
_ABOUT_RE = re.compile(r"(?<![\w~])~\s?(?=[\d$])")
_PLUS_RE = re.compile(r"(?<![\w.])(\d[\d,.]*)\+(?=\s|$|[,.;])")
_LESS_RE = re.compile(r"(?<![\w<])<(?![-=])\s?(?=\d)")
_MORE_RE = re.compile(r"(?<![\w>=-])>\s?(?=\d)")
_THOUSANDS_RE = re.compile(r"(?<![\w.])(\$?)(\d{1,3})k\b")
_NUMBER_ARROW_RE = re.compile(r"(\d%?)\s*(?:->|→|=>)\s*(?=\d)")
_SESSION_RE = re.compile(r"\bS(\d{1,2})(?:\s?-\s?(\d{1,2}))?\b")
# "Jan" and "Mar" are first names too: months only after a word of time or before a day ("since Jan", "Mar 3").
_MONTH_RE = re.compile(
    r"\b(?:(?P<after>since|from|until|till|through|before|after|by|in|of|early|late|mid|starting|last|next|this) "
    r"(?P<month>Jan|Mar)\b\.?|(?P<dated>Jan|Mar)\.?(?= \d{1,2}\b))")
_MONTHS = {"Jan": "January", "Mar": "March"}
# "fed funds", "Fed grants": federal money, not "fed up".
_FEDERAL_RE = re.compile(r"\b([Ff])ed(?= (?:funds?|funding|grants?|money|dollars|government|agents?|agency|agencies|"
                         r"courts?|judges?|officials?|enforcement|policy|law|contracts?)\b)")


def expand_shorthand(text: str, glossary: dict[str, str] | None = None) -> str:
    """``text`` with shorthand written out; numbers as a reader expects ("$2.1M/yr" -> "$2.1 million a year").

    Web addresses (and Markdown links) are left exactly as typed.
    """
    out, last = [], 0
    for m in _URL_RE.finditer(text):
        out.append(_expand(text[last:m.start()], glossary) if text[last:m.start()].strip() else text[last:m.start()])
        out.append(m.group(0))
        last = m.end()
    out.append(_expand(text[last:], glossary))
    return " ".join("".join(out).split())


@functools.lru_cache(maxsize=32)
def _tables(extra: tuple[tuple[str, str], ...]) -> tuple[dict[str, str], dict[str, str], re.Pattern]:
    """The glossary with a series' additions, its lower-case entries (they also match a capital),
    and one pattern that finds any entry as a whole token."""
    table = {**SHORTHAND, **dict(extra)}
    lowered = {k.lower(): v for k, v in table.items() if k.islower() or not k[:1].isalpha()}
    exact = sorted((k for k in table if k.lower() not in lowered), key=len, reverse=True)
    loose = sorted(lowered, key=len, reverse=True)
    alternatives = [re.escape(k) for k in exact] + [f"(?i:{re.escape(k)})" for k in loose]
    # Never inside a contraction: "re:" is not the end of "you're:".
    pattern = re.compile(rf"(?<![\w/$])(?<!\w['’])(?:{'|'.join(alternatives)})(?![\w/])")
    return table, lowered, pattern


def _expand(text: str, glossary: dict[str, str] | None) -> str:
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
    table, lowered, pattern = _tables(tuple(sorted((glossary or {}).items())))
    text = _NUMBER_ARROW_RE.sub(lambda m: f"{m.group(1)} to ", text)  # "61% -> 38%" -> "61% to 38%"
    text = _SESSION_RE.sub(lambda m: f"sessions {m.group(1)} to {m.group(2)}" if m.group(2) else f"session {m.group(1)}",
                           text)
    text = _MONTH_RE.sub(lambda m: f"{m['after']} {_MONTHS[m['month']]}" if m["after"] else _MONTHS[m["dated"]], text)
    text = _FEDERAL_RE.sub(lambda m: f"{m.group(1)}ederal", text)
    text = _THOUSANDS_RE.sub(lambda m: f"{m.group(1)}{int(m.group(2)) * 1000:,}", text)
    text = _MONEY_RE.sub(lambda m: f"${m.group(1)} {_UNITS[m.group(2)]}" + (f" {_PER[m.group(3)]}" if m.group(3) else ""),
                         text)
    text = _TIMES_RE.sub(lambda m: f"{m.group(1)} times", text)
    text = _ABOUT_RE.sub("about ", text)
    text = _PLUS_RE.sub(lambda m: f"more than {m.group(1)}", text)
    text = _LESS_RE.sub("under ", text)
    text = _MORE_RE.sub("over ", text)
    text = _PER_RE.sub(lambda m: f" {_PER[m.group(1)]}", text)

    def expand(match: re.Match) -> str:
        word = match.group(0)
        if word in table:
            full = table[word]
        elif word[:1].isupper() and word.lower() in lowered and not word.isupper():
            full = lowered[word.lower()]
            full = full[:1].upper() + full[1:]  # "Ppl" at a sentence start -> "People"
        else:
            return word
        if word == "$" and match.end() < len(match.string) and match.string[match.end():match.end() + 1].isdigit():
            return word
        if word == "+" and not _between_words(match):
            return word
        return full

    text = pattern.sub(expand, text)
    text = re.sub(r"\s+leading to\s+", ", leading to ", text)
    text = re.sub(r",\s*,", ",", text)
    text = _PLURAL_UNIT_RE.sub(lambda m: f"{m.group(1)} {m.group(2)}s", text)
    return lead + " ".join(text.split()) + trail


def _between_words(match: re.Match) -> bool:
    before, after = match.string[: match.start()], match.string[match.end():]
    return bool(re.search(r"[\w\])]\s*$", before)) and bool(re.match(r"\s*[\w\[(]", after))


def strip_speaker(text: str) -> tuple[str, str | None, bool]:
    """``(text without a speaker prefix or label, the role the prefix named, whether it pushes back)``."""
    text = " ".join(text.split()).strip().strip("\"“”")
    text = LABEL_PREFIX_RE.sub("", text)
    role, dissent = None, False
    m = DISSENT_PREFIX_RE.match(text)
    if m:
        role, dissent = m.group("role"), True
    else:
        m = SPEAKER_PREFIX_RE.match(text)
        if m:
            role = m.group("role")
    if m:
        rest = text[m.end():].strip(" -–—:")
        if len(rest.split()) >= 3:
            text = rest
        else:
            role, dissent = None, False
    return text, role, dissent


def sentences(text: str) -> list[str]:
    """Split prose into sentences at ". ", "; ", "? " and "! " (abbreviations such as "e.g." kept)."""
    parts = re.split(r"(?<=[.;!?])\s+(?=\S)", text)
    out: list[str] = []
    for p in parts:
        if out and re.search(r"\b(?:e\.g|i\.e|etc|vs|approx|incl|St|Dr|Mr|Ms|No)\.$", out[-1]):
            out[-1] += " " + p
        else:
            out.append(p)
    return [p.strip() for p in out if p.strip()]


def clean_note(text: str, glossary: dict[str, str] | None = None) -> tuple[str, str | None, bool]:
    """A note as prose: speaker prefix and label off, shorthand out; ``(text, role named, dissent)``."""
    text, role, dissent = strip_speaker(expand_shorthand(text, glossary))
    text = re.sub(r"\s+-\s+", "; ", text)  # "joint filing - spreads cost" -> "joint filing; spreads cost"
    text = re.sub(r"\s*;\s*;\s*", "; ", text)
    return text.strip(" ;,"), (role.lower() if role else None), dissent
