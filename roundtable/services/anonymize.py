"""The anonymization pipeline: no identity reaches storage, the stream, or a brief.

Detector plugins (``register_detectors``) find identifiers and return
:class:`Span` objects; :func:`merge_spans` resolves overlaps; a replacement
policy (role, pseudonym or redact) rewrites the text. An :class:`Anonymizer` is
built once per series (its roster regexes are compiled once) and is cheap to
call on every note: the live path adds well under a millisecond without NER.

Nothing here stores a raw name: pseudonyms are derived from roster order and a
keyed hash, never from a table of names, and error messages carry kinds and
positions only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import unicodedata
import weakref
from html.parser import HTMLParser
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from roundtable.errors import AnonymizationUnavailable, ExportBlocked, ValidationError
from roundtable.services.normalize import fold_for_matching, matching_text, stored_form

POLICIES = ("role", "pseudonym", "redact")

# Span kinds. "name" is a roster participant (participant_id set when the
# mention points at exactly one person), "person" someone not on the roster.
NAME, PERSON, AFFILIATION = "name", "person", "affiliation"
EMAIL, PHONE, HANDLE, URL = "email", "phone", "handle", "url"
# When spans overlap, the one whose kind comes first wins; contact details
# contain names ("maria.nunez@…") and must be replaced whole.
_KIND_PRIORITY = {EMAIL: 0, URL: 1, HANDLE: 2, PHONE: 3, NAME: 4, PERSON: 5, AFFILIATION: 6}

# What a kept term may undo: unknown-name detections. Roster matches and contact details never.
KEEPABLE = frozenset((PERSON,))

_REDACT_LABELS = {
    NAME: "[name]",
    PERSON: "[name]",
    AFFILIATION: "[organization]",
    EMAIL: "[email]",
    PHONE: "[phone]",
    HANDLE: "[handle]",
    URL: "[link]",
}


@dataclass(frozen=True, slots=True)
class Span:
    """An identifier found in a text: ``text[start:end]`` is of ``kind``."""

    start: int
    end: int
    kind: str
    confidence: float
    detector: str
    participant_id: int | None = None

    def as_dict(self) -> dict:
        """The public, name-free description used by ``--json`` and the API."""
        return {
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "detector": self.detector,
            "confidence": round(self.confidence, 3),
        }


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One person on a series' roster (the only place real names live)."""

    id: int
    name: str
    aliases: tuple[str, ...] = ()
    affiliation: str = ""
    role_label: str = "participant"
    consent_named: bool = False


@dataclass(frozen=True)
class Roster:
    """The people a series knows about, and whether their affiliations are hidden.

    Frozen and hashable, so detectors can cache compiled matchers per roster.
    """

    entries: tuple[RosterEntry, ...] = ()
    anonymize_affiliations: bool = True

    @classmethod
    def from_rows(cls, rows: Iterable, anonymize_affiliations: bool = True) -> Roster:
        """Build from ``Participant`` rows, mappings or :class:`RosterEntry` objects."""
        entries = []
        for index, row in enumerate(rows, start=1):
            if isinstance(row, RosterEntry):
                entries.append(row)
                continue
            get = row.get if isinstance(row, dict) else lambda key, default=None, r=row: getattr(r, key, default)
            entries.append(
                RosterEntry(
                    id=get("id") or index,
                    name=(get("name") or "").strip(),
                    aliases=tuple(a.strip() for a in (get("aliases") or ()) if a and a.strip()),
                    affiliation=(get("affiliation") or "").strip(),
                    role_label=(get("role_label") or get("role") or "participant").strip() or "participant",
                    consent_named=bool(get("consent_named", False)),
                )
            )
        return cls(tuple(entries), anonymize_affiliations)

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, participant_id: int | None) -> RosterEntry | None:
        for entry in self.entries:
            if entry.id == participant_id:
                return entry
        return None

    def find(self, name_or_alias: str) -> RosterEntry | None:
        """The entry whose display name or alias is ``name_or_alias`` (any case, any accents)."""
        wanted = fold_for_matching(name_or_alias)
        if not wanted:
            return None
        for entry in self.entries:
            if wanted in (fold_for_matching(n) for n in (entry.name, *entry.aliases)):
                return entry
        return None

    def without_consenting(self) -> Roster:
        """Only the people who did not agree to be named (what the export gate looks for)."""
        return Roster(tuple(e for e in self.entries if not e.consent_named), False)


def load_roster_csv(path_or_text: str | Path) -> Roster:
    """Read a roster CSV (``name,aliases,affiliation,role,consent``) with the one roster parser,
    :func:`roundtable.services.roster.parse_roster_csv` (the web upload and bundles use it too).

    ``path_or_text`` is a path or the CSV text itself. Errors name the file
    and the line and never echo a name.
    """
    from roundtable.services.roster import parse_roster_csv

    if isinstance(path_or_text, Path) or ("\n" not in path_or_text and "," not in path_or_text):
        path = Path(path_or_text)
        try:
            text, filename = path.read_text(encoding="utf-8-sig"), path.name
        except FileNotFoundError:
            raise ValidationError(f"roster file {path} does not exist") from None
        except UnicodeDecodeError:
            raise ValidationError(f"roster file {path} is not UTF-8 text") from None
        except OSError as exc:
            raise ValidationError(f"roster file {path} cannot be read: {exc.strerror}") from None
    else:
        text, filename = path_or_text, "roster.csv"
    rows = parse_roster_csv(text, filename)
    return Roster(tuple(
        RosterEntry(id=i, name=row.name, aliases=tuple(row.aliases), affiliation=row.affiliation,
                    role_label=row.role, consent_named=row.consent_named)
        for i, row in enumerate(rows, start=1)
    ))


# --- text folding -------------------------------------------------------------------------

# Letters that do not decompose into base + accent but are written without it in a hurry.
_EXTRA_FOLDS = {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ı": "i", "ħ": "h", "ŧ": "t", "’": "'", "‘": "'", "ʼ": "'"}
_fold_cache: dict[str, str] = {}


def _fold_char(char: str) -> str:
    folded = _fold_cache.get(char)
    if folded is None:
        lower = char.lower()
        base = "".join(c for c in unicodedata.normalize("NFD", lower) if not unicodedata.combining(c))
        base = _EXTRA_FOLDS.get(base, base)
        if len(base) == 1:
            folded = base
        elif len(lower) == 1:
            folded = _EXTRA_FOLDS.get(lower, lower)
        else:
            folded = char
        _fold_cache[char] = folded
    return folded


def fold(text: str) -> str:
    """Lower-case and strip accents *without changing the length*, so offsets still apply.

    "Núñez" and "NUNEZ" both fold to "nunez"; "’" folds to "'".
    """
    if text.isascii():
        return text.lower()
    return "".join(map(_fold_char, text))


# --- merging --------------------------------------------------------------------------------

def _better(a: Span, b: Span) -> Span:
    """Which of two overlapping spans decides the replacement."""
    key_a = (_KIND_PRIORITY.get(a.kind, 9), a.participant_id is None, -a.confidence, -(a.end - a.start))
    key_b = (_KIND_PRIORITY.get(b.kind, 9), b.participant_id is None, -b.confidence, -(b.end - b.start))
    return a if key_a <= key_b else b


def merge_spans(spans: Iterable[Span], text: str | None = None) -> list[Span]:
    """Merge overlapping spans into one per region, sorted by position.

    The merged span covers the union of the region; its kind, detector and
    participant come from the strongest span (contact details over names, a
    known participant over an unknown person). When ``text`` is given, two
    mentions of the same participant separated only by spaces or a hyphen
    ("José" + "García") become one span, so the replacement is not repeated.
    """
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    merged: list[Span] = []
    for span in ordered:
        if span.end <= span.start:
            continue
        if merged:
            last = merged[-1]
            joinable = (
                text is not None
                and last.kind == span.kind == NAME
                and last.participant_id is not None
                and last.participant_id == span.participant_id
                and span.start >= last.end
                and text[last.end : span.start].strip(" -\u2010") == ""
                and span.start - last.end <= 3
            )
            # "Port" + "Alder" found apart are one unknown name, with one replacement
            adjacent_people = (
                text is not None
                and last.kind == span.kind == PERSON
                and span.start >= last.end
                and span.start - last.end <= 2
                and text[last.end : span.start].strip(" -\u2010") == ""
            )
            if span.start < last.end or joinable or adjacent_people:
                winner = _better(last, span)
                merged[-1] = Span(
                    last.start,
                    max(last.end, span.end),
                    winner.kind,
                    max(last.confidence, span.confidence) if winner.kind == NAME else winner.confidence,
                    winner.detector,
                    winner.participant_id,
                )
                continue
        merged.append(span)
    return merged


def kept_terms_pattern(kept_terms: Iterable[str]) -> re.Pattern | None:
    """One pattern finding every kept term (whole words, any case, any spacing) in a folded matching text."""
    terms = sorted({fold_for_matching(t) for t in kept_terms if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return None
    body = "|".join(r"\s+".join(map(re.escape, term.split())) for term in terms)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


def detect_spans(texts: Sequence[str], detectors: Sequence, roster: Roster, kept: re.Pattern | None = None) -> list[list[Span]]:
    """Run ``detectors`` on the matching form of each text; merged spans in the texts' own coordinates.

    An unknown-name span inside an occurrence of a kept term (``kept``, see
    :func:`kept_terms_pattern`) is dropped; roster and contact spans never are.
    """
    matching = [matching_text(text) for text in texts]
    found: list[list[Span]] = [[] for _ in texts]
    for detector in detectors:
        for bucket, spans in zip(found, detector.detect([m.text for m in matching], roster)):
            bucket.extend(spans)
    result = []
    for text, match, spans in zip(texts, matching, found):
        if kept is not None:
            shields = [m.span() for m in kept.finditer(fold(match.text))]
            spans = [s for s in spans if s.kind not in KEEPABLE or not any(a <= s.start and s.end <= b for a, b in shields)]
        spans = [replace(span, start=start, end=end) for span in spans
                 for start, end in [match.to_original(span.start, span.end)]]
        result.append(merge_spans(spans, text))
    return result


# --- replacement policies ------------------------------------------------------------------

_ARTICLES = ("a ", "an ", "the ")
# Speaker values that are roles already, not people.
GENERIC_ROLES = frozenset((
    "participant", "participants", "several participants", "facilitator", "co-facilitator", "moderator",
    "note-taker", "notetaker", "chair", "co-chair", "host", "speaker", "panelist", "presenter", "audience",
    "audience member", "guest", "observer", "organizer", "staff", "unknown", "someone", "everyone",
))
_PSEUDONYM_LABEL = re.compile(r"^(?:Participant|Person) [A-Z]{1,3}$")


def with_article(label: str) -> str:
    """"legal advocate" -> "a legal advocate"; labels with an article stay as they are."""
    label = " ".join(label.split()) or "participant"
    if label.lower().startswith(_ARTICLES):
        return label
    return ("an " if label[0].lower() in "aeiou" else "a ") + label


# Generic labels for affiliations under the role policy, first match wins.
_AFFILIATION_LABELS = (
    (("city of", "department", "dept", "agency", "council", "mayor", "municipal", "county", "ministry", "office of", "authority", "bureau", "commission", "state of"), "a public agency"),
    (("university", "college", "institute of technology", "school of", "academy"), "a university"),
    (("school", "district"), "a school"),
    (("hospital", "clinic", "health", "medical"), "a health provider"),
    (("legal aid", "law center", "law centre", "legal services", "law firm", "attorneys", "llp"), "a legal services organization"),
    (("foundation", "fund", "trust"), "a foundation"),
    (("bank", "credit union"), "a financial institution"),
    (("inc", "llc", "ltd", "corp", "company", "gmbh", "group", "s.a."), "a company"),
    (("church", "mosque", "synagogue", "temple", "parish"), "a faith organization"),
    (("union", "workers"), "a labor union"),
    (("coalition", "alliance", "network", "association", "center", "centre", "project", "collective", "society", "initiative", "committee", "housing", "tenants"), "a community organization"),
)


def affiliation_label(affiliation: str) -> str:
    """A generic label for an organization name ("Brookline Housing Authority" -> "a public agency")."""
    words = f" {fold(affiliation)} ".replace(",", " ").replace("(", " ").replace(")", " ")
    for keys, label in _AFFILIATION_LABELS:
        if any(f" {key} " in words or (" " in key and key in words) for key in keys):
            return label
    return "an organization"


def _letters(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“‘([*-•>")
    return not before or before[-1] in ".!?:\n"


@dataclass
class AnonymizedText:
    """The result of anonymizing one text.

    ``spans`` are in the *input's* coordinates (for ``--json`` and the
    evaluation); ``replacements`` are ``(start, end, kind)`` in the *output's*
    coordinates, for highlighting what was replaced. Neither holds a raw name.
    """

    text: str
    spans: list[Span] = field(default_factory=list)
    replacements: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.spans)


class Anonymizer:
    """Anonymize texts for one series: a roster, a policy, detectors, kept terms.

    Build it once per series (see :func:`anonymizer_for_series`) and call
    :meth:`anonymize` per note. Thread-safe: it keeps no per-call state.
    """

    def __init__(
        self,
        roster: Roster | None,
        policy: str = "role",
        detectors: Sequence = (),
        kept_terms: Iterable[str] = (),
        salt: str | bytes = b"roundtable",
    ):
        policy = getattr(policy, "value", policy)
        if policy not in POLICIES:
            raise ValidationError(f"unknown policy {policy!r}: use role, pseudonym or redact")
        self.roster = roster or Roster()
        self.policy = policy
        self.detectors = list(detectors)
        self.kept = kept_terms_pattern(kept_terms)
        self._salt = salt.encode() if isinstance(salt, str) else salt
        self._pseudonym_orders: dict[str | None, dict[int, str]] = {}
        self._lock = threading.Lock()

    # -- detection --

    def detect_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """Merged spans for each text, after dropping kept terms.

        Detectors see each text's matching form (:mod:`roundtable.services.normalize`:
        what a reader reads, look-alike letters, invisible characters and markup
        undone); the spans come back in the coordinates of ``texts``.
        """
        return detect_spans(texts, self.detectors, self.roster, self.kept)

    # -- replacement --

    def anonymize(self, text: str, session_key: str | int | None = None) -> AnonymizedText:
        """Replace every identifier in ``text`` according to the series' policy."""
        return self.anonymize_many([text], session_key)[0]

    def anonymize_many(self, texts: Sequence[str], session_key: str | int | None = None) -> list[AnonymizedText]:
        """Anonymize a batch (one detector call per batch: NER is much faster batched).

        Each text is first brought to its stored form (NFC, no invisible
        characters); spans refer to that form.
        """
        texts = [stored_form(text) for text in texts]
        return [self.apply(text, spans, session_key) for text, spans in zip(texts, self.detect_many(texts))]

    def apply(self, text: str, spans: Sequence[Span], session_key: str | int | None = None) -> AnonymizedText:
        """Rewrite ``text`` replacing merged ``spans`` (a note with no spans comes back identical)."""
        if not spans:
            return AnonymizedText(text, [], [])
        pieces: list[str] = []
        replacements: list[tuple[int, int, str]] = []
        position = 0
        length = 0
        for span in spans:
            pieces.append(text[position : span.start])
            length += span.start - position
            label = self.label_for(span, text[span.start : span.end], session_key)
            if label.startswith(("a ", "an ")) and re.search(r"\b(?:the|a|an|our|their|his|her)\s+$", text[max(0, span.start - 7) : span.start], re.I):
                label = label.split(" ", 1)[1]  # "the City of Oakland" -> "the public agency", not "the a public agency"
            if _sentence_initial(text, span.start) and label[:1].islower():
                label = label[0].upper() + label[1:]
            pieces.append(label)
            replacements.append((length, length + len(label), span.kind))
            length += len(label)
            position = span.end
        pieces.append(text[position:])
        return AnonymizedText("".join(pieces), list(spans), replacements)

    def label_for(self, span: Span, surface: str, session_key: str | int | None = None) -> str:
        """The replacement text for one span under this policy."""
        kind = span.kind
        if kind not in (NAME, PERSON, AFFILIATION):
            return _REDACT_LABELS.get(kind, "[redacted]")
        entry = self.roster.get(span.participant_id) if span.participant_id is not None else None
        if kind == AFFILIATION:
            if self.policy == "redact":
                return _REDACT_LABELS[AFFILIATION]
            return affiliation_label(entry.affiliation if entry else surface)
        if self.policy == "redact":
            return "[name]"
        if self.policy == "role":
            if entry:
                return with_article(entry.role_label)
            # a roster name shared by two people is a participant; someone found by the name model is not
            # (and may be a place it misread: "in Port Alder" must not read "in a participant")
            return "a participant" if kind == NAME else "[name]"
        if entry is not None:
            return "Participant " + self._pseudonym_letters(session_key)[entry.id]
        return "Person " + self._unknown_code(surface, session_key)

    def speaker_role(self, name_or_alias: str | None, session_key: str | int | None = None) -> str | None:
        """What a speaker field becomes: role label, pseudonym or ``[name]``; ``None`` when empty.

        A speaker that is already a role ("legal advocate", "facilitator") stays as it is;
        anyone else not on the roster is treated as an unknown person.
        """
        if not name_or_alias or not name_or_alias.strip():
            return None
        entry = self.roster.find(name_or_alias)
        if entry is None and self._is_role(name_or_alias):
            return name_or_alias
        span = Span(0, len(name_or_alias), NAME, 1.0, "speaker", entry.id if entry else None)
        return self.label_for(span, name_or_alias, session_key)

    def _is_role(self, value: str) -> bool:
        wanted = fold(" ".join(value.split()))
        for article in _ARTICLES:
            wanted = wanted.removeprefix(article)
        roles = {fold(e.role_label) for e in self.roster.entries} | GENERIC_ROLES
        return wanted in roles or bool(_PSEUDONYM_LABEL.match(value.strip())) or value.strip() == "[name]"

    def _pseudonym_letters(self, session_key) -> dict[int, str]:
        """Letters per participant for one session: a keyed shuffle of roster order, never stored."""
        letters = self._pseudonym_orders.get(session_key)
        if letters is None:
            def order(entry: RosterEntry) -> bytes:
                if session_key is None:
                    return b""
                return hmac.new(self._salt, f"{session_key}:{entry.id}".encode(), hashlib.sha256).digest()

            ranked = sorted(self.roster.entries, key=order)  # stable: roster order when no session
            letters = {entry.id: _letters(i) for i, entry in enumerate(ranked)}
            with self._lock:
                self._pseudonym_orders[session_key] = letters
        return letters

    def _unknown_code(self, surface: str, session_key) -> str:
        """A stable three-letter code for someone not on the roster (a keyed hash, not the name)."""
        key = " ".join(fold(surface).removesuffix("'s").split())
        digest = hmac.new(self._salt, f"{session_key}:{key}".encode(), hashlib.sha256).digest()
        number = int.from_bytes(digest[:4], "big")
        return "".join(chr(65 + (number // 26**i) % 26) for i in range(3))


# --- detectors and plugin manager -----------------------------------------------------------

# Per plugin manager (weakly, so a discarded app's manager and its caches go away together).
_detector_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _default_pm():
    from roundtable.plugins import default_plugin_manager

    return default_plugin_manager()


def floor_detectors(case_blind: bool = False) -> list:
    """The detectors no configuration removes: roster names and contact details.

    They are the built-in ``roster`` and ``patterns`` detectors, run whether
    or not their plugins are loaded; plugins add detectors on top. When one
    cannot be imported, :class:`AnonymizationUnavailable` says why, and notes,
    imports and exports are refused rather than written unchecked.
    """
    try:
        from roundtable_plugins.patterns import PatternDetector
        from roundtable_plugins.roster import RosterDetector
    except Exception as exc:
        raise AnonymizationUnavailable(
            "anonymization is unavailable, so notes are refused: the built-in roster and contact detectors "
            f"failed to load ({type(exc).__name__}: {exc}); reinstall Roundtable"
        ) from None
    return [RosterDetector(case_blind=case_blind), PatternDetector()]


def floor_missing() -> str | None:
    """Why the floor cannot run (``None`` when it can), for a notice on the note pages."""
    try:
        floor_detectors()
    except AnonymizationUnavailable as exc:
        return str(exc)
    return None


def registered_detectors(pm=None) -> list:
    """The floor, then every detector registered through ``register_detectors`` (newest plugin
    first), cached per manager. A plugin's copy of a floor detector is not run twice."""
    from roundtable.plugins import collect

    pm = pm or _default_pm()
    detectors = _detector_cache.get(pm)
    if detectors is None:
        floor = floor_detectors()
        floor_types = tuple(type(d) for d in floor)
        detectors = floor + [d for d in collect(pm, "register_detectors") if not isinstance(d, floor_types)]
        _detector_cache[pm] = detectors
    return detectors


def load_detectors(pm=None, ner: bool | None = None) -> list:
    """The detectors to run: the floor and every working plugin detector, or without the unknown-name model.

    ``ner=False`` leaves out the ``ner`` detector; ``ner=True`` requires that it
    works (a :class:`ValidationError` saying why otherwise); ``None`` uses it
    when it is installed.
    """
    detectors = registered_detectors(pm)
    if ner is False:
        return [d for d in detectors if getattr(d, "name", "") != "ner"]
    working = [d for d in detectors if _status(d) is None]
    if ner is True and not any(getattr(d, "name", "") == "ner" for d in working):
        reason = next((_status(d) for d in detectors if getattr(d, "name", "") == "ner"), None)
        raise ValidationError(reason or "unknown-name detection is off: install roundtable[ner]")
    return working


def _status(detector) -> str | None:
    status = getattr(detector, "status", None)
    return status() if callable(status) else None


def detector_statuses(pm=None) -> dict[str, str | None]:
    """Each registered detector's name and why it is off (``None`` when it works), for the UI."""
    from roundtable.plugins import collect

    pm = pm or _default_pm()
    return {getattr(d, "name", repr(d)): _status(d) for d in collect(pm, "register_detectors")}


def unknown_name_detection_off(pm=None) -> str | None:
    """Why names of people not on the roster are not detected, or ``None`` when they are."""
    statuses = detector_statuses(pm)
    if "ner" not in statuses:
        return "unknown-name detection is off: the ner plugin is not loaded"
    return statuses["ner"]


_series_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # pm -> {series id: (key, Anonymizer)}
_series_cache_lock = threading.Lock()


def anonymizer_for_series(db, series, pm=None, salt: str | bytes = b"roundtable") -> Anonymizer:
    """The (cached) anonymizer for a series, from its ``Participant`` and ``KeptTerm`` rows.

    ``db`` is a SQLAlchemy session, ``series`` a ``Series`` or its id. The
    rows are read on every call (two small queries) so a roster or kept-term
    change takes effect at once; compiled matchers are reused while they match.
    """
    from sqlalchemy import select

    from roundtable.errors import NotFound
    from roundtable.models import KeptTerm, Participant, Series

    if not isinstance(series, Series):
        found = db.get(Series, series)
        if found is None:
            raise NotFound(f"series {series} does not exist")
        series = found
    participants = db.scalars(
        select(Participant).where(Participant.series_id == series.id).order_by(Participant.id)
    ).all()
    kept = db.scalars(select(KeptTerm.term).where(KeptTerm.series_id == series.id).order_by(KeptTerm.term)).all()
    roster = Roster.from_rows(participants, anonymize_affiliations=bool(series.anonymize_affiliations))
    policy = getattr(series.policy, "value", series.policy) or "role"
    pm = pm or _default_pm()
    key = (roster, policy, tuple(kept), salt)
    with _series_cache_lock:
        per_series = _series_cache.setdefault(pm, {})
        cached = per_series.get(series.id)
    if cached is not None and cached[0] == key:
        return cached[1]
    anonymizer = Anonymizer(roster, policy, load_detectors(pm), kept, salt=f"{salt!r}:{series.id}")
    with _series_cache_lock:
        per_series[series.id] = (key, anonymizer)
    return anonymizer


def kept_term_refusal(term: str, roster: Roster) -> str | None:
    """Why ``term`` may not be kept (it matches the roster or a contact pattern), or ``None``.

    Judged on the term's matching form, alone and as the subject of "said", so
    a lower-case or disguised first name is refused like the plain one. The
    reason never repeats the term.
    """
    roster_detector, pattern_detector = floor_detectors(case_blind=True)
    matching = matching_text(term).text
    for text in (matching, f"{matching} said"):
        if any(s.kind in (NAME, AFFILIATION) for s in roster_detector.detect([text], roster)[0]):
            return "this term matches a name or affiliation on the roster; roster names are always replaced"
    if any(s.kind in (EMAIL, PHONE, HANDLE, URL) for s in pattern_detector.detect([matching], roster)[0]):
        return "this term looks like contact details (an email, phone, handle or personal link); those are always replaced"
    return None


def keep_term(db, series, term: str, account_id: int | None = None):
    """Record that ``term`` is not a person in this series ("keep 'Dr. Pepper'"); returns the ``KeptTerm``.

    A note-taker's deliberate undo of an unknown-name false positive: from now
    on no detector replaces it as a person in this series (roster matches and
    contact details are replaced whatever is kept). A term that matches the
    roster or a contact pattern is refused. Keeping a term twice, also by two
    people at the same moment, keeps it once. The audit trail records who kept
    which kept-term row, not the term.
    """
    from sqlalchemy import select

    from roundtable.models import AuditEvent, KeptTerm, Series

    series = series if isinstance(series, Series) else db.get(Series, series)
    term = " ".join(stored_form(term or "").split())
    if not term:
        raise ValidationError("the term to keep is empty")
    if len(term) > 200:
        raise ValidationError("a kept term can be at most 200 characters")
    roster, _kept = roster_and_kept_terms(db, series)
    refusal = kept_term_refusal(term, roster)
    if refusal:
        raise ValidationError(f"cannot keep this term: {refusal}")

    inserted = db.execute(
        _insert_ignoring_duplicates(db, KeptTerm).values(series_id=series.id, term=term, created_by_id=account_id)
    ).rowcount
    kept = db.scalars(select(KeptTerm).where(KeptTerm.series_id == series.id, KeptTerm.term == term)).one()
    if inserted:
        db.add(AuditEvent(account_id=account_id, series_id=series.id, action="term.kept",
                          detail={"kept_term_id": kept.id}))
        db.flush()
    return kept


def _insert_ignoring_duplicates(db, model):
    """``INSERT … ON CONFLICT DO NOTHING``: when two people keep a term at once, the database decides."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model).on_conflict_do_nothing()


def kept_terms_of(db, series) -> list:
    """A series' ``KeptTerm`` rows, for the series page."""
    from sqlalchemy import select

    from roundtable.models import KeptTerm

    return list(db.scalars(select(KeptTerm).where(KeptTerm.series_id == series.id).order_by(KeptTerm.term)))


def forget_kept_term(db, series, term: str, account_id: int | None = None) -> bool:
    """Replace ``term`` again from now on; ``False`` when it was not kept."""
    from sqlalchemy import select

    from roundtable.models import AuditEvent, KeptTerm

    series_id = getattr(series, "id", series)
    term = " ".join((term or "").split())
    kept = db.scalars(select(KeptTerm).where(KeptTerm.series_id == series_id, KeptTerm.term == term)).first()
    if kept is None:
        return False
    db.add(AuditEvent(account_id=account_id, series_id=series_id, action="term.forgotten",
                      detail={"kept_term_id": kept.id}))
    db.delete(kept)
    db.flush()
    return True


# --- export gate ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GateFinding:
    """One place where the export gate found an identity (never the identity itself)."""

    line: int
    column: int
    kind: str

    where: str = ""  # "" for the file itself; else what the reader sees ("the rendered document")

    def __str__(self) -> str:
        return f"{self.where + ', ' if self.where else ''}line {self.line}, column {self.column} ({self.kind})"


def _as_roster(roster: Roster | Iterable | None) -> Roster:
    if roster is not None and not isinstance(roster, Roster):
        roster = Roster.from_rows(roster)
    return roster or Roster()


def gated_spans(text: str, roster: Roster | Iterable | None) -> list[Span]:
    """What may never leave the system: non-consenting roster names, emails and phone numbers.

    Kept terms do not apply: they can only undo unknown-name detections, which the gate does not judge.
    """
    roster_detector, pattern_detector = floor_detectors(case_blind=True)
    roster = _as_roster(roster)
    hidden = roster.without_consenting()
    matching = matching_text(text)
    spans = roster_detector.detect([matching.text], hidden)[0]
    credited = Roster(tuple(e for e in roster.entries if e.consent_named), False)
    if spans and credited.entries:
        # "Ana Silva" (named) is not a mention of "Ana Costa" (anonymous) just because both are Ana.
        named = [s for s in roster_detector.detect([matching.text], credited)[0] if s.kind == NAME]
        spans = [
            s for s in spans
            if not any(n.start <= s.start and s.end <= n.end and n.end - n.start > s.end - s.start for n in named)
        ]
    spans += [s for s in pattern_detector.detect([matching.text], hidden)[0] if s.kind in (EMAIL, PHONE)]
    return merge_spans([replace(s, start=start, end=end) for s in spans if s.kind in (NAME, EMAIL, PHONE)
                        for start, end in [matching.to_original(s.start, s.end)]])


def export_findings(text: str, roster: Roster | Iterable | None, where: str = "") -> list[GateFinding]:
    """Every place in ``text`` with a non-consenting roster name, an email or a phone number."""
    findings = []
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    for span in gated_spans(text, roster):
        line = _line_of(line_starts, span.start)
        findings.append(GateFinding(line + 1, span.start - line_starts[line] + 1, span.kind, where))
    return findings


class _VisibleText(HTMLParser):
    """The text of an HTML or SVG document as a reader meets it, and where its links lead."""

    HIDDEN = frozenset(("style", "script", "template"))
    BLOCKS = frozenset(("p", "div", "li", "br", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "section",
                        "header", "footer", "blockquote", "pre", "title", "text", "tspan", "dt", "dd", "figcaption"))
    ATTRIBUTES = frozenset(("href", "src", "title", "alt", "content", "aria-label", "xlink:href", "data-number"))

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")
        values = [value for name, value in attrs if name in self.ATTRIBUTES and value]
        if values:
            self.parts.append("\n" + "\n".join(values) + "\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(document: str) -> str:
    """What a reader of an HTML (or SVG, or XML) document reads: its text, entities decoded,
    without styles and scripts, plus link targets, titles and alternative texts."""
    parser = _VisibleText()
    parser.feed(document)
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts))


def anonymize_draft(
    text: str, roster: Roster | Iterable | None, policy: str = "role", keep_credited: bool = True,
) -> AnonymizedText:
    """Text typed outside the note stream: replace roster names, emails and phones.

    With ``keep_credited`` (brief drafts, which credit people who agreed to be
    named) the names of consenting participants stay. The unknown-name model
    does not run here: drafts hold authors' names on purpose, and the export
    gate checks again on export.
    """
    text = stored_form(text)
    roster = _as_roster(roster)
    gate_roster = roster if keep_credited else Roster(
        tuple(replace(e, consent_named=False) for e in roster.entries), roster.anonymize_affiliations
    )
    return Anonymizer(roster, policy).apply(text, gated_spans(text, gate_roster))


def roster_and_kept_terms(db, series) -> tuple[Roster, list[str]]:
    """A series' roster and kept terms, read from the database."""
    from sqlalchemy import select

    from roundtable.models import KeptTerm, Participant

    people = db.scalars(select(Participant).where(Participant.series_id == series.id)).all()
    kept = db.scalars(select(KeptTerm.term).where(KeptTerm.series_id == series.id)).all()
    return Roster.from_rows(people, series.anonymize_affiliations), list(kept)


def authored_text_anonymizer(db, series, keep_credited: bool = False):
    """A function anonymizing what a facilitator or author types or imports outside the note stream
    (session titles, theme fields, series fields, brief drafts) under the series' policy; the roster
    is read once. See :func:`anonymize_draft`."""
    roster, _kept = roster_and_kept_terms(db, series)
    policy = getattr(series.policy, "value", series.policy)

    def anonymize(text: str) -> str:
        return anonymize_draft(text, roster, policy, keep_credited=keep_credited).text if text else text

    return anonymize


def anonymize_authored_text(db, series, text: str, keep_credited: bool = False) -> str:
    """One authored text through :func:`authored_text_anonymizer`."""
    if not text:
        return text
    return authored_text_anonymizer(db, series, keep_credited)(text)


def _line_of(line_starts: list[int], offset: int) -> int:
    import bisect

    return bisect.bisect_right(line_starts, offset) - 1


def export_gate(text: str, roster: Roster | Iterable | None, *, html: str | None = None,
                values: Iterable[str] = ()) -> None:
    """Refuse to export ``text`` that names a non-consenting person or holds an email or phone.

    The gate judges what the reader sees: ``text`` (the file as written) and,
    when the file is or becomes a rendered document, its ``html`` (judged on its
    :func:`visible_text`), and ``values``, the strings a reader's program decodes
    from the file (YAML and XML escapes undone). Every text is judged on its
    matching form (:mod:`roundtable.services.normalize`), and names that are
    also common words count in any case where they read as a name.

    ``roster`` is a :class:`Roster` or ``Participant`` rows. Raises
    :class:`roundtable.errors.ExportBlocked` whose ``findings`` list each place
    as ``line L, column C (kind)``, never the text found.
    """
    roster = _as_roster(roster)
    findings = export_findings(text, roster)
    if html is not None:
        findings += export_findings(visible_text(html), roster, where="as rendered")
    decoded = "\n".join(value for value in values if value)
    if decoded:
        findings += export_findings(decoded, roster, where="as decoded")
    if findings:
        raise ExportBlocked(findings)


def gate_series_export(db, series, text: str, *, html: str | None = None, values: Iterable[str] = ()) -> None:
    """:func:`export_gate` with ``series``' roster and kept terms: every download calls this first."""
    roster, _kept = roster_and_kept_terms(db, series)
    export_gate(text, roster, html=html, values=values)


def strings_in(data) -> list[str]:
    """Every string in a parsed YAML or JSON document (keys too): what a reader's program decodes."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for key, value in data.items() for s in (*strings_in(key), *strings_in(value))]
    if isinstance(data, (list, tuple)):
        return [s for item in data for s in strings_in(item)]
    return []


def xml_strings(document: str) -> list[str]:
    """Every text and attribute value of an XML document (entities decoded), as its reader's program sees them."""
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return [visible_text(document)]
    return [value for element in root.iter() for value in (element.text, element.tail, *element.attrib.values())
            if value and value.strip()]


def acknowledgment_names(roster: Roster | Iterable) -> tuple[list[str], bool]:
    """Names that may appear in acknowledgments, and whether anyone declined to be named."""
    if not isinstance(roster, Roster):
        roster = Roster.from_rows(roster)
    named = [e.name for e in roster.entries if e.consent_named]
    return named, any(not e.consent_named for e in roster.entries)
