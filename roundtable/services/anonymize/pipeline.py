"""The pipeline for one series: detectors on the matching form, spans mapped back, merged, replaced."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from roundtable import off_hub
from roundtable.errors import ValidationError
from roundtable.services.anonymize.kept_terms import KEEPABLE, kept_terms_pattern
from roundtable.services.anonymize.name_memory import NameMemory
from roundtable.services.anonymize.normalize import matching_text
from roundtable.services.typed_text import stored_form
from roundtable.services.anonymize.policies import (
    ARTICLES,
    GENERIC_ROLES,
    POLICIES,
    PSEUDONYM_LABEL,
    REDACT_LABELS,
    affiliation_label,
    letters_for,
    sentence_initial,
    with_article,
)
from roundtable.services.anonymize.roster import Roster, RosterEntry
from roundtable.services.anonymize.spans import AFFILIATION, NAME, PERSON, Span, fold, merge_spans


def detect_spans(texts: Sequence[str], detectors: Sequence, roster: Roster, kept: re.Pattern | None = None,
                 memories: Sequence[NameMemory | None] | None = None) -> list[list[Span]]:
    """Run ``detectors`` on the matching form of each text; merged spans in the texts' own coordinates.

    An unknown-name span inside an occurrence of a kept term (``kept``, see
    :func:`kept_terms_pattern`) is dropped; roster and contact spans never are.
    ``memories``: each text's session memory (:mod:`.name_memory`), or ``None``: the words it remembers
    are offered to the detectors that confirm people, and the full names found are remembered.
    """
    matching = [matching_text(text) for text in texts]
    memories = memories or [None] * len(texts)
    remembered = [memory.candidates(match.text) if memory is not None else [] for memory, match in zip(memories, matching)]
    if all(getattr(detector, "quick", False) for detector in detectors):
        # Patterns take microseconds; a trip to the detection thread comes back only after every ready
        # greenlet has run (at 1,000 viewers, a round of socket writes).
        found = _run_detectors(detectors, [m.text for m in matching], roster, remembered)
    else:
        found = off_hub.call(_run_detectors, detectors, [m.text for m in matching], roster, remembered)
    result = []
    for text, match, spans, memory in zip(texts, matching, found, memories):
        if kept is not None:
            shields = [m.span() for m in kept.finditer(fold(match.text))]
            spans = [s for s in spans if s.kind not in KEEPABLE or not any(a <= s.start and s.end <= b for a, b in shields)]
        if memory is not None:
            memory.learn(match.text, spans)
        spans = [replace(span, start=start, end=end) for span in spans
                 for start, end in [match.to_original(span.start, span.end)]]
        result.append(merge_spans(spans, text))
    return result


def _run_detectors(detectors: Sequence, texts: list[str], roster: Roster,
                   remembered: list[list[tuple[int, int]]]) -> list[list[Span]]:
    """Every detector's spans for each text. A model can take a while: under gevent this runs off the hub.

    A detector with ``confirms_remembered_names`` also gets ``remembered``: for each text, where it has a
    word the session's memory holds, to keep as a person or veto as it would a part of a name in the text.
    """
    found: list[list[Span]] = [[] for _ in texts]
    for detector in detectors:
        if any(remembered) and getattr(detector, "confirms_remembered_names", False):
            detected = detector.detect(texts, roster, remembered=remembered)
        else:
            detected = detector.detect(texts, roster)
        for bucket, spans in zip(found, detected):
            bucket.extend(spans)
    return found


# "Will we…?", "Mark the date": a question or an order, where the word is not the speaker's name.
_OBJECT_AFTER = re.compile(r"\s+(?:the|a|an|this|that|these|those|we|you|they|it|i|he|she|our|your|my|their|his|her|its|"
                           r"them|us|me|him|up|down|off|out|all|each|every|any|some|no|not)\b", re.I)


def speaker_name_spans(text: str, roster: Roster, speaker_role: str | None) -> list[Span]:
    """The speaker's own given name or alias opening a sentence: "Will laid out the plan" in a note whose
    speaker is Will's role.

    Alone, a sentence-initial word that is also an English word ("Will", "Mark")
    is read as a name only before a known verb; the note's speaker field confirms
    it. Every roster person with that role counts.
    """
    if not speaker_role:
        return []
    wanted = fold(" ".join(speaker_role.split()))
    spans = []
    for entry in roster.entries:
        if fold(entry.role_label) != wanted:
            continue
        forms = {entry.name.split()[0], *(alias for alias in entry.aliases if len(alias.split()) == 1)}
        for form in sorted(f for f in forms if len(f) > 1):
            for hit in re.finditer(rf"(?<![\w'’-]){re.escape(form)}(?![\w-])", text):
                if sentence_initial(text, hit.start()) and not _OBJECT_AFTER.match(text, hit.end()):
                    spans.append(Span(hit.start(), hit.end(), NAME, 0.9, "speaker", entry.id))
    return spans


def marked_name_spans(text: str, names: Iterable[str]) -> list[Span]:
    """Every occurrence in ``text`` of the words a note-taker marked as a name (whole words, any case or form).

    This is how names no detector finds (lower-case, unusual) are removed: the
    note-taker marks them in the composer and the marks travel with the note,
    never stored themselves. A marked word that does not occur is an error, so
    a mark can never be silently lost; the message never repeats the word.
    """
    spans = []
    match = matching_text(text)
    folded = fold(match.text)
    for name in names:
        pattern = kept_terms_pattern([name])
        found = list(pattern.finditer(folded)) if pattern is not None else []
        if not found:
            raise ValidationError("a word marked as a name does not occur in the note; mark it again")
        for hit in found:
            start, end = match.to_original(*hit.span())
            spans.append(Span(start, end, PERSON, 1.0, "note-taker"))
    return spans

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

def remember_names(detectors: Sequence) -> bool:
    """Whether a session's name memory can change what ``detectors`` find (one of them confirms people)."""
    return any(getattr(d, "confirms_remembered_names", False) and d.status() is None for d in detectors)


def ordinary_word(detectors: Sequence, word: str) -> bool:
    """Whether the dictionary of one of ``detectors`` holds ``word`` (a word, not a name part to remember)."""
    return any(d.ordinary_word(word) for d in detectors if hasattr(d, "ordinary_word"))


class Anonymizer:
    """Anonymize texts for one series: a roster, a policy, detectors, kept terms.

    Build it once per series (see :func:`anonymizer_for_series`) and call
    :meth:`anonymize` per note. Thread-safe: it keeps no per-call state.
    ``salt`` keys pseudonyms; it has no default, so none is a constant anyone
    could recompute: pass the installation's (``roundtable.pseudonym_salt``).
    """

    def __init__(
        self,
        roster: Roster | None,
        policy: str = "role",
        detectors: Sequence = (),
        kept_terms: Iterable[str] = (),
        *,
        salt: bytes,
    ):
        policy = getattr(policy, "value", policy)
        if policy not in POLICIES:
            raise ValidationError(f"unknown policy {policy!r}: use role, pseudonym or redact")
        if not salt:
            raise ValueError("an Anonymizer needs a salt: the installation's roundtable.pseudonym_salt(series id)")
        self.roster = roster or Roster()
        self.policy = policy
        self.detectors = list(detectors)
        self.kept = kept_terms_pattern(kept_terms)
        self._salt = salt
        self._pseudonym_orders: dict[str | None, dict[int, str]] = {}
        self._lock = threading.Lock()

    # -- detection --

    def detect_many(self, texts: Sequence[str], memories: Sequence[NameMemory | None] | None = None) -> list[list[Span]]:
        """Merged spans for each text, after dropping kept terms.

        Detectors see each text's matching form (:mod:`roundtable.services.anonymize.normalize`:
        what a reader reads, look-alike letters, invisible characters and markup
        undone); the spans come back in the coordinates of ``texts``. ``memories``: see :func:`detect_spans`.
        """
        return detect_spans(texts, self.detectors, self.roster, self.kept, memories)

    @property
    def remembers_names(self) -> bool:
        """Whether a session's name memory can change what this anonymizer finds (a detector confirms people)."""
        return remember_names(self.detectors)

    def ordinary_word(self, word: str) -> bool:
        """Whether a detector's dictionary holds ``word`` (a word, not a name part to remember)."""
        return ordinary_word(self.detectors, word)

    def name_memory(self, key: bytes, session: int | str, digests=()) -> NameMemory:
        """An empty (or ``digests``) memory of one session, with the detectors' dictionary."""
        return NameMemory(key, session, digests, ordinary_word=self.ordinary_word)

    # -- replacement --

    def anonymize(self, text: str, session_key: str | int | None = None, marked: Sequence[str] = (),
                  speaker_role: str | None = None, memory: NameMemory | None = None) -> AnonymizedText:
        """Replace every identifier in ``text`` according to the series' policy.

        ``marked``: words the note-taker marked as names (see :func:`marked_name_spans`);
        ``speaker_role``: the note's speaker field (see :func:`speaker_name_spans`);
        ``memory``: the session's name memory (:mod:`.name_memory`), which learns this note's full names.
        """
        text = stored_form(text)
        spans = self.detect_many([text], [memory])[0]
        extra = [*marked_name_spans(text, marked), *speaker_name_spans(text, self.roster, speaker_role)]
        if extra:
            spans = merge_spans([*spans, *extra], text)
        return self.apply(text, spans, session_key)

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
            if sentence_initial(text, span.start) and label[:1].islower():
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
            return REDACT_LABELS.get(kind, "[redacted]")
        entry = self.roster.get(span.participant_id) if span.participant_id is not None else None
        if kind == AFFILIATION:
            if self.policy == "redact":
                return REDACT_LABELS[AFFILIATION]
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
        for article in ARTICLES:
            wanted = wanted.removeprefix(article)
        roles = {fold(e.role_label) for e in self.roster.entries} | GENERIC_ROLES
        return wanted in roles or bool(PSEUDONYM_LABEL.match(value.strip())) or value.strip() == "[name]"

    def _pseudonym_letters(self, session_key) -> dict[int, str]:
        """Letters per participant for one session: a keyed shuffle of roster order, never stored."""
        letters = self._pseudonym_orders.get(session_key)
        if letters is None:
            def order(entry: RosterEntry) -> bytes:
                if session_key is None:
                    return b""
                return hmac.new(self._salt, f"{session_key}:{entry.id}".encode(), hashlib.sha256).digest()

            ranked = sorted(self.roster.entries, key=order)  # stable: roster order when no session
            letters = {entry.id: letters_for(i) for i, entry in enumerate(ranked)}
            with self._lock:
                self._pseudonym_orders[session_key] = letters
        return letters

    def _unknown_code(self, surface: str, session_key) -> str:
        """A stable three-letter code for someone not on the roster (a keyed hash, not the name)."""
        key = " ".join(fold(surface).removesuffix("'s").split())
        digest = hmac.new(self._salt, f"{session_key}:{key}".encode(), hashlib.sha256).digest()
        number = int.from_bytes(digest[:4], "big")
        return "".join(chr(65 + (number // 26**i) % 26) for i in range(3))
