"""Built-in detector: contact details and other identifiers with a recognisable shape.

- **email** addresses, also written "name [at] domain [dot] org";
- **phone** numbers in international ("+44 20 7946 0958", "0049 30 1234567")
  and national formats ("(617) 555-0142", "06 12 34 56 78", "call 5550123456"), told apart from
  dates, years and amounts by their digit count and grouping;
- social **handle**s ("@maria_n", "@maria@mastodon.social");
- **url**s that point at a person: a profile on a social site, a path with
  "~user" or "@user", or a link containing a roster name. Other links stay,
  they are resources;
- a **person** after a title ("Dr. Okafor", "Ms. Lindqvist"), even when
  nobody told us the name and the NER model is not installed.
"""

from __future__ import annotations

import re

from roundtable import Roster, Span, hookimpl
from roundtable.services.anonymize import EMAIL, HANDLE, PERSON, PHONE, URL, fold

_EMAIL = re.compile(
    r"(?<![\w.+'%@-])[\w.+'%-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])"
    r"|(?<![\w.+-])[\w.+-]+\s*[\[(<{]\s*at\s*[\])>}]\s*[\w-]+(?:\s*(?:\.|[\[(<{]\s*dot\s*[\])>}])\s*[\w-]+)+",
    re.I,
)
_PHONE = re.compile(
    r"(?<![\w+/.,:-])"
    r"(?:(?:\+|\b00)\s?\d{1,3}[ .\-]?)?"
    r"(?:\(\s?\d{1,5}\s?\)[ .\-]?)?"
    r"\d{1,15}(?:[ .\-/]\(?\d{1,8}\)?){0,6}"  # a first group of up to 15: "call 5550123456" is one run
    r"(?![\w/]|[.,:]\d|-\d)"
)
_PHONE_CONTEXT = re.compile(
    r"\b(?:call|calls|called|phone|tel|telephone|cell|mobile|mob|text|txt|sms|whatsapp|signal|number|num|no|ph|"
    r"contact|reach|fax|hotline|line|dial|ring|direct|office|landline)\b[\s.:#]*(?:\w+\s+){0,3}$",
    re.I,
)
_PHONE_CONTEXT_AFTER = re.compile(
    r"[\s(]*(?:\w+\s+){0,2}(?:number|phone|cell|mobile|line|hotline|landline|whatsapp|direct)\b", re.I
)
_DATE_LIKE = re.compile(
    r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{4}\s?[-/]\s?\d{2,4})$"
)
_HANDLE = re.compile(
    r"(?<![\w@./+-])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?(?:@[\w-]+(?:\.[\w-]+)+)?(?![\w@])"
)
_NOT_HANDLES = frozenset(
    "home work noon night lunch office the all everyone channel here there school church mention mentions "
    "city hall table desk reception front".split()
)
_URL = re.compile(r"(?:\bhttps?://|\bwww\.)[^\s<>\"'`\]\[)(]+", re.I)
_SOCIAL_BARE = re.compile(
    r"(?<![\w@./-])(?:[a-z0-9-]+\.)*(?:twitter|x|linkedin|facebook|fb|instagram|tiktok|github|gitlab|medium|"
    r"youtube|threads|bsky|mastodon|substack|vimeo|flickr|soundcloud|t\.me|telegram)\.(?:com|net|app|social|org|me|io)"
    r"/[^\s<>\"'`\])(]+",
    re.I,
)
_SOCIAL_HOSTS = re.compile(
    r"^(?:https?://)?(?:[a-z0-9-]+\.)*(?:twitter|x|linkedin|facebook|fb|instagram|tiktok|github|gitlab|medium|"
    r"youtube|threads|bsky|mastodon|substack|vimeo|flickr|soundcloud|telegram|t)\.(?:com|net|app|social|org|me|io)(?:/|$)",
    re.I,
)
_SOCIAL_NON_PROFILE = re.compile(r"^/(?:watch|search|hashtag|explore|help|about|legal|policies|events|groups/?$|$)", re.I)
# The title and a possessive stay in the text: "Dr. Okafor's team" -> "Dr. [name]'s team".
_TITLED_PERSON = re.compile(
    r"\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Professor|Rev|Judge|Justice|Councilmember|Councillor|Councilor|Senator|Rep|Mayor|"
    r"Commissioner)\.?[ \t]+"
    r"(?P<name>(?:[A-Z]\.[ \t]*)?(?!(?:The|A|An|Of|And|Or)\b)[A-Z][\w'’-]*\w"
    r"(?:[ \t]+(?:van|von|de|der|den|del|da|di|le|la|du)?[ \t]*[A-Z][\w'’-]*\w)?)"
)


def find_emails(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), EMAIL, 0.99, "contact_details") for m in _EMAIL.finditer(text)]


def _is_phone(candidate: str, text: str, start: int) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    if digits < 7 or digits > 15:
        return False
    stripped = candidate.strip()
    international = stripped.startswith("+") or stripped.startswith("00")
    if international:
        return digits >= 8
    if _DATE_LIKE.match(stripped):
        return False
    groups = re.findall(r"\d+", stripped)
    if all(len(g) == 4 and g[:2] in ("19", "20") for g in groups):
        return False  # a list of years
    if text[max(0, start - 6) : start].lower().strip().endswith("isbn"):
        return False
    context = bool(_PHONE_CONTEXT.search(text, max(0, start - 40), start)) or bool(
        _PHONE_CONTEXT_AFTER.match(text, start + len(candidate))
    )
    has_parens = "(" in stripped
    if len(groups) == 1:
        # "Ana: 5550142": a local number given after a colon, the way a contact line reads
        after_colon = digits == 7 and text[:start].rstrip().endswith(":") and not stripped.endswith("000")
        return context and digits >= 9 or (stripped.startswith("0") and 10 <= digits <= 11) or after_colon
    if sum(len(g) == 1 for g in groups) > 1 and len(groups) < 5:
        return False
    if digits < 9:
        # local numbers ("555-0142") only where the note says it is a number
        return context and bool(re.fullmatch(r"\d{3}[ .-]\d{4}", stripped))
    if has_parens or len(groups) >= 3:
        return digits <= 13
    # two groups: a trunk prefix and a long subscriber number ("030 12345678"), or a stated number
    return context or (groups[0].startswith("0") and len(groups[1]) >= 6)


def find_phones(text: str) -> list[Span]:
    spans = []
    for match in _PHONE.finditer(text):
        candidate = match.group()
        start = match.start()
        trimmed = candidate.rstrip(" .-/")
        if _is_phone(trimmed, text, start):
            spans.append(Span(start, start + len(trimmed), PHONE, 0.95, "contact_details"))
    return spans


def find_handles(text: str) -> list[Span]:
    spans = []
    for match in _HANDLE.finditer(text):
        handle = match.group()[1:]
        if not any(c.isalpha() for c in handle) or handle.lower() in _NOT_HANDLES:
            continue
        if re.fullmatch(r"\d{1,2}(?::\d\d)?(?:am|pm|h)?|\d+(?:st|nd|rd|th)", handle, re.I):
            continue
        spans.append(Span(match.start(), match.end(), HANDLE, 0.9, "contact_details"))
    return spans


def _personal_url(url: str, roster: Roster) -> bool:
    host = _SOCIAL_HOSTS.match(url)
    rest = re.sub(r"^(?:https?://)?[^/]+", "", url)
    if host and rest.strip("/") and not _SOCIAL_NON_PROFILE.match(rest):
        return True
    if re.search(r"/(?:~|@)\w", rest):
        return True
    if roster.entries:
        words = re.findall(r"[^\W\d_]+", fold(rest))
        # lazy: this detector must load when the roster plugin cannot; the floor then refuses notes and says why
        from roundtable_plugins.roster import matcher_for

        forms = matcher_for(roster).forms
        candidates = set(words) | {" ".join(pair) for pair in zip(words, words[1:])}
        return any(
            (form := forms.get(c)) is not None and not form.ambiguous and form.kind == "name" and len(c) >= 4
            for c in candidates
        )
    return False


def find_urls(text: str, roster: Roster) -> list[Span]:
    spans = []
    seen: set[int] = set()
    for pattern in (_URL, _SOCIAL_BARE):
        for match in pattern.finditer(text):
            if match.start() in seen:
                continue
            url = match.group().rstrip(".,;:!?")
            seen.add(match.start())
            if _personal_url(url, roster):
                spans.append(Span(match.start(), match.start() + len(url), URL, 0.9, "contact_details"))
    return spans


def find_titled_people(text: str) -> list[Span]:
    spans = []
    for match in _TITLED_PERSON.finditer(text):
        end = match.end("name") - len(re.search(r"(['’]s?)?$", match.group("name")).group())
        spans.append(Span(match.start("name"), end, PERSON, 0.9, "contact_details"))
    return spans


class PatternDetector:
    """Finds emails, phone numbers, handles, personal links and titled names."""

    name = "contact_details"
    quick = True  # patterns only: runs in place on the live path (hookspecs.register_detectors)
    ALL_KINDS = (EMAIL, PHONE, HANDLE, URL, PERSON)

    def __init__(self, kinds=ALL_KINDS):
        self.kinds = frozenset(kinds)

    def detect(self, texts: list[str], roster: Roster) -> list[list[Span]]:
        return [self._detect_one(text, roster) for text in texts]

    def _detect_one(self, text: str, roster: Roster) -> list[Span]:
        spans: list[Span] = []
        has_at = "@" in text
        if EMAIL in self.kinds and (has_at or "at" in text.lower()):
            spans += find_emails(text)
        if PHONE in self.kinds and sum(c.isdigit() for c in text) >= 7:
            spans += find_phones(text)
        if HANDLE in self.kinds and has_at:
            spans += find_handles(text)
        if URL in self.kinds and ("/" in text or "www." in text.lower()):
            spans += find_urls(text, roster)
        if PERSON in self.kinds:
            spans += find_titled_people(text)
        return spans

    def status(self) -> str | None:
        return None


@hookimpl
def register_detectors(register):
    register(PatternDetector())
