"""Sentence realisation: a note's claim rewritten as a sentence in the report's own voice.

Notes are typed as fragments ("Hotline statistics February: 340 calls, 48
confirmed operations", "Detention transfers still the fastest-growing
problem"). A published bullet states a claim in full sentences, attributes it
once, and joins related facts. This module does that deterministically:

- asides in parentheses go; note-style colons become a verb ("X: 340 calls"
  -> "X showed 340 calls", "City attorney: ..." -> "City attorney said ..."),
  a clause before the colon takes the figure after it with "with";
- fragments get the verb they lack ("transfers still the ..." -> "transfers
  are still the ...", "4 people removed within" -> "4 people were removed
  within"), using spaCy's tagger when installed, a few word lists otherwise;
- anonymizer placeholders are written around ("[name] and [name] law
  schools" -> "two law schools") or the clause holding them is left out;
- sentences are built around the claim: the attribution is woven in once,
  before the claim when its first word may stand mid-sentence (a name, a
  number, a word typed in lower case), after it otherwise.

No word's case is ever changed: a claim whose first word is a capitalized
common word starts its own sentence, so a name typed in a note keeps the
capital the export gate looks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from roundtable.services.briefs.prose import a_or_an, capitalize_first, is_acronym, number_word

PLACEHOLDER_RE = re.compile(r"\[(?:name|email|phone|handle|link|organization|redacted)\]")
_NAMES_LIST_RE = re.compile(r"\[name\](?:\s*,\s*\[name\])*,?\s+(?:and|&)\s+\[name\](?=\s+([a-z][\w-]*))")
_POSSESSIVE_RE = re.compile(r"\[name\]['’]s\b")
_ASIDE_RE = re.compile(r"\s*\((?![^()]*(?:https?:|\]))[^()]{1,80}\)")
_URLISH_RE = re.compile(r"https?://\S+", re.I)
_WORD_RE = re.compile(r"[^\W_][\w'’-]*", re.U)

# Who speaks at the head of "City attorney: ..." or "Court admin: ...".
_SPEAKERS = {
    "attorney", "attorneys", "admin", "administrator", "chief", "judge", "judges", "clerk", "mayor", "sheriff",
    "staff", "officer", "officers", "director", "lawyer", "lawyers", "advocate", "advocates", "organizer",
    "organizers", "scholar", "scholars", "researcher", "researchers", "funder", "funders", "pastor", "official",
    "officials", "leader", "leaders", "member", "members", "councilmember", "manager", "commissioner", "spokesperson",
}
# Heads of "X: ..." that name a count or a finding: "X showed ...".
_SHOWED = {"statistics", "stats", "data", "numbers", "figures", "survey", "surveys", "inventory", "count", "counts",
           "report", "tracker", "audit", "analysis", "poll", "polls", "polling", "results", "review", "study", "map",
           "dashboard", "research", "evidence"}
# Heads that name a problem or a point: "X was ...".
_WAS = {"problem", "issue", "gap", "challenge", "concern", "risk", "question", "priority", "goal", "ask", "lesson",
        "point", "worry", "fear", "need", "barrier", "bottleneck", "takeaway", "surprise", "tension", "debate",
        "disagreement", "tradeoff", "trade-off"}
_FINITE = {
    "is", "are", "was", "were", "has", "have", "had", "will", "would", "can", "could", "should", "must", "may",
    "might", "does", "do", "did", "won't", "can't", "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't",
    "weren't", "cannot", "says", "say", "said", "wants", "want", "needs", "need", "takes", "take", "makes", "make",
    "works", "goes", "gets", "keeps", "runs", "shows", "means", "seems", "lets", "helps", "happen", "happens",
}
_COPULA_ADVERBS = {"still", "now", "already", "likely", "mostly", "not", "also", "often", "too", "largely", "only",
                   "very", "increasingly", "rarely", "always", "never", "all", "both", "almost", "nearly"}
_CONTRAST_START = re.compile(r"^(?:but|still|only|no|not|yet|few|none|although|though|even)\b", re.I)
_NOUN_TAGS = {"NN", "NNS", "NNP", "NNPS"}
_NP_TAGS = _NOUN_TAGS | {"JJ", "CD", "HYPH", "POS", "PRP$", "VBN", "NFP", "$"}
_FINITE_TAGS = {"VBD", "VBZ", "VBP", "MD"}
# Verbs an action note opens with ("publish a table", "fund coordinators"): several are nouns too, so a
# word of this list counts as an instruction only where the parse does not make it a subject.
_ACTION_VERBS = {
    "add", "adopt", "ask", "audit", "ban", "bring", "build", "circulate", "collect", "compile", "connect",
    "consider", "convene", "coordinate", "create", "define", "designate", "develop", "document", "draft",
    "email", "engage", "ensure", "establish", "expand", "expect", "explain", "fund", "get", "give", "hire", "hold",
    "host", "identify", "include", "invest", "involve", "join", "keep", "launch", "let", "limit", "maintain", "make",
    "map", "comment", "discuss", "decide", "continue",
    "move", "negotiate", "obtain", "offer", "open", "organize", "partner", "pass", "pay", "pilot", "plan",
    "prepare", "press", "prioritize", "protect", "provide", "publish", "push", "recruit", "reduce", "repurpose",
    "require", "review", "schedule", "secure", "seek", "send", "set", "share", "start", "stop", "study",
    "support", "survey", "talk", "test", "track", "train", "update", "use", "vet", "write",
    "draw", "validate", "focus", "reconsider", "evaluate", "avoid", "learn", "understand", "determine",
    "try", "remember", "read", "find", "check", "choose", "follow", "look", "distinguish", "describe", "indicate",
    "clarify", "serve", "pull", "extract", "uncover",
}
# Verbs a measure's clauses open with ("bans sharing", "caps fees") besides the action verbs above.
_SERIES_VERBS = {"ban", "bar", "allow", "prohibit", "restrict", "block", "cover", "cap", "forbid", "exempt",
                 "mandate", "protect", "require", "limit"}
# "get a directive", "push for a remote option": the call is for the thing itself.
_CALL_FOR = {"get", "obtain", "secure", "seek", "need", "want"}
_ACTION_VERBS_SAID = {"recommended", "proposed"}  # reporting verbs that say a claim was advice
_CALL_FOR_PREP = {"push", "press", "ask", "advocate", "lobby", "call", "fight", "argue"}
# Status words a note puts after its subject ("inventory done", "directive ok"), as a predicate.
_STATUS = {"done": ("is", "complete"), "finished": ("is", "finished"), "complete": ("is", "complete"),
           "completed": ("is", "complete"), "ok": ("was", "approved"), "okay": ("was", "approved"),
           "OK": ("was", "approved"), "approved": ("was", "approved"), "underway": ("is", "underway"),
           "ready": ("is", "ready"), "pending": ("is", "pending"), "live": ("is", "live"),
           "stalled": ("has", "stalled"), "delayed": ("was", "delayed")}
# A note that opens on its speaker's verb ("disagrees w/ softer framing"): the speaker is its subject.
_SPEAKER_VERBS = {"disagrees": "disagreed with", "agrees": "agreed", "argues": "argued", "worries": "worried",
                  "warns": "warned", "thinks": "thought", "believes": "believed", "wants": "wanted", "says": "said",
                  "notes": "noted", "questions": "questioned", "doubts": "doubted", "cautions": "cautioned",
                  "suggests": "suggested", "feels": "felt", "pushes": "pushed"}
# A claim that opens on one of these lost its antecedent when it left its note.
_PRONOUN_SUBJECTS = {"it", "they", "he", "she", "this", "these", "those", "its", "their", "his", "her"}
# Auxiliaries that open a clause whose subject is the one before the comma ("..., can't travel").
_SHARED_SUBJECT_RE = re.compile(r"(?:can't|cannot|won't|don't|doesn't|didn't|can|could|will|would|should|must)\s")
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec")
# "starts April", "vote scheduled May": a month after a verb takes its preposition.
_WHEN_RE = re.compile(rf"\b(?P<verb>(?:start|begin|end|launch|open|close|expire|run|resume|finish)(?:s|es|ed|ing)?|"
                      rf"began|ran)\s+(?=(?:{_MONTHS})\b)")
_FOR_WHEN_RE = re.compile(rf"\b(?P<verb>scheduled|planned|slated|set|due|expected|targeted)\s+(?=(?:{_MONTHS})\b)")
_ABSTRACT = ("ment", "ance", "ence", "ity", "ism", "ness")
# Last words of an organization's name: "at Northgate Food Bank, ..." (a place takes "in").
_ORGANIZATION_HEADS = {"aid", "bank", "center", "centre", "clinic", "office", "project", "network", "court", "council",
                       "library", "school", "university", "department", "services", "coalition", "fund", "foundation",
                       "institute", "agency", "hospital", "church", "union", "committee", "board", "team"}
# Nouns that take no article as a subject ("funding ended", "training is mandatory").
_MASS = {"funding", "money", "information", "data", "housing", "training", "support", "legislation", "enforcement",
         "research", "evidence", "guidance", "staff", "access", "aid", "outreach", "capacity", "trust", "work",
         "litigation", "detention", "immigration", "policing", "surveillance", "messaging", "coverage", "demand",
         "attendance", "participation", "turnout", "traffic", "feedback", "progress", "software", "security",
         "health", "safety", "language", "time", "media", "press", "representation", "counsel", "advice",
         "removal", "deportation", "transportation", "education", "legal", "information", "protection",
         "cooperation", "coordination", "documentation", "verification"}


def _plural(word: str, tag: str | None) -> bool:
    if tag:
        return tag in ("NNS", "NNPS")
    return word.endswith("s") and not word.endswith(("ss", "us", "is"))


class _Unparsed(Exception):
    """Raised by :meth:`Realizer._doc` while prefetching, for a text spaCy has not parsed yet."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


@dataclass
class Realizer:
    """Rewrites claims into sentences for one series.

    ``proper`` holds words typed capitalized inside sentences and never in lower
    case anywhere in the series' notes (place, programme and organization names):
    such a word may stand mid-sentence. ``tagger`` is spaCy's English pipeline or
    ``None`` (word lists only).
    """

    proper: frozenset[str] = frozenset()
    tagger: object | None = None
    _cache: dict = field(default_factory=dict, repr=False)
    _probing: bool = field(default=False, repr=False)  # while prefetching: a text not parsed yet stops the claim

    @classmethod
    def for_notes(cls, texts: Iterable[str], tagger=None) -> Realizer:
        return cls(proper_words(texts), tagger)

    # ---- the parts of speech, from spaCy when installed

    def _doc(self, text: str):
        """spaCy's parse of ``text``, once per text."""
        key = ("doc", text)
        if key not in self._cache:
            if self._probing:
                raise _Unparsed(text)
            self._cache[key] = self.tagger(text)
        return self._cache[key]

    def tags(self, text: str) -> list[tuple[str, str | None, str]]:
        """``(word, tag or None, following whitespace)`` for each token of ``text``."""
        if text in self._cache:
            return self._cache[text]
        if self.tagger is not None:
            out = [(t.text, t.tag_, t.whitespace_) for t in self._doc(text)]
        else:
            out = [(m.group(0), None, " ") for m in re.finditer(r"\S+", text)]
        self._cache[text] = out
        return out

    def has_finite_verb(self, text: str) -> bool:
        """Whether ``text`` is a clause: its root (spaCy's parse) is a finite verb, or it holds one (word lists)."""
        if self.tagger is not None:
            key = ("clause", text)
            if key not in self._cache:
                self._cache[key] = any(
                    s.root.tag_ in _FINITE_TAGS
                    or any(c.dep_ in ("aux", "auxpass") and c.tag_ in _FINITE_TAGS for c in s.root.children)
                    for s in self._doc(text).sents)
            return self._cache[key]
        tokens = self.tags(text)
        words = [w.lower().strip(",.;:") for w, _, _ in tokens]
        return any(w in _FINITE for w in words) or any(w.endswith("ed") and len(w) > 4 for w in words[1:])

    def embeddable(self, text: str) -> bool:
        """Whether ``text`` may follow other words in a sentence as it stands (case unchanged)."""
        first = text[:1]
        if not first or not first.isalpha():
            return bool(first) and first not in "\"“'‘"
        if first.islower():
            return True
        word = _WORD_RE.match(text)
        token = word.group(0) if word else ""
        if token in self.proper or (len(token) > 1 and token.isupper()):
            return True
        words = text.split()
        # "Harbor City ...", "Due Process Defense Network ...": a name of two capitalized words.
        return len(words) > 1 and words[1][:1].isupper() and words[1].lower() not in ("i",)

    def relative_as_claim(self, phrase: str) -> str:
        """A noun phrase whose head carries a subject relative clause, as the claim it states ("" when none):
        "Ordinances and data practices that decide what the city shares" -> "Ordinances and data practices
        decide what the city shares". Only when the relative's head is the phrase's own head ("the toll on
        the people who run the networks" states nothing about the toll) and nothing before it is a clause."""
        if self.tagger is None:
            return ""
        doc = self._doc(phrase)
        root = next(iter(doc.sents)).root
        if root.pos_ not in ("NOUN", "PROPN"):
            return ""
        verb = next((c for c in root.children if c.dep_ == "relcl" and c.tag_ in _FINITE_TAGS), None)
        pronoun = verb and next((c for c in verb.children if c.dep_ == "nsubj" and c.i < verb.i
                                 and c.lower_ in ("that", "who", "which")), None)
        if pronoun is None or any(t.tag_ in _FINITE_TAGS for t in doc[:pronoun.i]):
            return ""
        return (doc[:pronoun.i].text + pronoun.whitespace_ + doc[pronoun.i + 1:].text).replace("  ", " ").strip()

    # ---- one claim

    def clause(self, claim: str, speakers: str = "participants") -> str:
        """The claim rewritten as a clause with a verb (no closing stop); "" when nothing usable is left.

        ``speakers`` (a plural role, "legal advocates") replaces the note-taker's "we" outside quotes:
        the report speaks about participants, never as them.
        """
        text = " ".join(claim.split())
        text = _placeholders(text)
        if text is None:
            return ""
        text = _ASIDE_RE.sub("", text)
        text = re.sub(r"\s+([,;:.])", r"\1", text).strip(" ,;:-–—")
        # "safety calls down 30% in 2 weeks?": a statement typed with a question mark is a doubt, not a question
        doubted = text.endswith("?") and not _QUESTION_START.match(text) and self.tagger is not None
        if doubted:
            text = text.rstrip("?").rstrip()
        text = _third_person(text, speakers)
        if self._lost_subject(text):
            return ""
        text = self._colon(text)
        if not text:
            return ""  # a colon that joins what cannot be one sentence ("X exceeded: A up, B doubled")
        parts = [p for p in re.split(r";\s+", text) if p.strip()]
        if not parts:
            return ""
        if len(parts) > 1 and self._bare_noun_phrase(parts[0]) and self._own_subject(parts[1]):
            parts[:2] = [f"{parts[0]}, {parts[1]}"]  # "expansion; people ... can be removed": one sentence
        out = self._mend(parts[0])
        reason = self.speaker_verb(parts[0]) is not None  # "disagrees with X; people need ...": why they disagree
        for p in parts[1:]:
            p = self.determined(self.articled(self._mend(p)))
            if self._heading_words(p):
                continue
            if reason and self.embeddable(p):
                out, reason = f"{out}: {p}", False
                continue
            out += (", and " + p) if self.embeddable(p) and not _CONTRAST_START.match(p) else (
                ", " + p if _CONTRAST_START.match(p) and p[:1].islower() else ". " + capitalize_first(p))
        out = re.sub(r", not (\w+)$", r", which is not \1", out)
        out = re.sub(r"\bbut no ([\w-]+(?: [\w-]+){0,3}?)(?=$|,|;| yet\b)", lambda m: "but there {} no {}".format(
            "are" if _plural(m.group(1).split()[-1], None) else "is", m.group(1)), out)
        out = _WHEN_RE.sub(lambda m: f"{m.group('verb')} in ", out)
        out = _FOR_WHEN_RE.sub(lambda m: f"{m.group('verb')} for ", out)
        out = re.sub(r"\bin ((?:" + _MONTHS + r") \d{1,2})\b", r"on \1", out)
        if doubted:
            out = self._hedged(out)
        out = self.determined(self.articled(self._figure_of(out.rstrip(" ,;:-–—."))))
        return "" if self._heading_words(out) or self._stray_order(out) else out

    def _figure_of(self, text: str) -> str:
        """"a median annual budget $120,000" -> "a median annual budget of $120,000": a money figure straight
        after the noun it measures takes "of"."""
        if self.tagger is None:
            return text
        doc = self._doc(text)
        at = [t.idx + len(t.text) for t in doc[:-1] if t.tag_ in ("NN", "NNS") and t.text.isalpha()
              and doc[t.i + 1].tag_ == "$" and doc[t.i + 1].idx == t.idx + len(t.text) + 1]
        for i in reversed(at):
            text = text[:i] + " of" + text[i:]
        return text

    def _stray_order(self, text: str) -> bool:
        """Whether a statement holds an order after a comma, with no subject ("standard templates, share across
        cities", "the inventory across departments, flag every field ..."): no verb can be added that keeps
        the note's meaning, so the claim is not used. A list of orders ("fund X, share Y") is left to :meth:`call`."""
        if self.tagger is None or self._imperative(text, any_case=True):
            return False
        doc = self._doc(text)
        quoted = [m.span() for m in _QUOTED_RE.finditer(text)]
        return any(t.tag_ in ("VB", "VBP") and t.text.islower() and t.i > 1 and doc[t.i - 1].text == ","
                   and not _hyphenated(t) and t.dep_ not in ("nmod", "compound", "amod")
                   and not any(a <= t.idx < b for a, b in quoted)
                   and not any(c.dep_ in ("nsubj", "nsubjpass", "expl", "aux", "auxpass") and not _comma_split(c, t)
                               for c in t.children)
                   and t.head.lower_ not in ("make", "let", "help", "made", "helped", "lets", "helps")
                   and t.lower_ not in ("see", "cf")  # a citation ("..., see https://..."), not an order
                   and not (t.dep_ == "conj" and (t.head.tag_ == "VB" or any(c.dep_ == "cc" for c in t.head.subtree if c.head.dep_ in ("conj", "ROOT") or c.head == t.head)))  # "frame the problem, spark ideas"
                   # a statement's subject before it ("Then, review ...", "If X is accepted, be sure ...": an order)
                   and any(x.dep_ in ("nsubj", "nsubjpass") and not _subordinate(x.head) for x in doc[:t.i])
                   for t in doc)

    def prefetch(self, claims: Iterable[tuple[str, str]]) -> None:
        """Parse, in spaCy batches, every text :meth:`clause` asks about for each ``(claim, speakers)``.

        A batch costs about a quarter of parsing each text alone, with the same parses. Which texts a
        claim needs depends on the parses before (the verb its fragment lacks, a colon's head), so the
        claims are rewritten in rounds: each stops at its first text not parsed yet, those texts are
        parsed in one batch, and the claims that stopped start again, until every claim is rewritten.
        """
        if self.tagger is None:
            return
        todo = list(dict.fromkeys(claims))
        self._probing = True
        try:
            while todo:
                wanted: dict[str, None] = {}
                stopped = []
                for claim, speakers in todo:
                    try:
                        self.clause(claim, speakers)
                    except _Unparsed as unparsed:
                        wanted[unparsed.text] = None
                        stopped.append((claim, speakers))
                for text, doc in zip(wanted, self.tagger.pipe(list(wanted), batch_size=64)):
                    self._cache[("doc", text)] = doc
                todo = stopped
        finally:
            self._probing = False

    def _heading_words(self, text: str) -> bool:
        """"Compatibility", "Building trust between ...", "To conduct UX research, ...": a heading's words, no
        claim; typed capitalized, and its case is kept, so nothing can be put before it to make a sentence."""
        return (self.tagger is not None and not self.embeddable(text) and not self._imperative(text, any_case=True)
                and not self.has_finite_verb(text) and not self._any_finite(text)
                and "VBN" not in {tag for _, tag, _ in self.tags(text)})

    def _lost_subject(self, text: str) -> bool:
        """Whether the claim's subject stayed behind in its note: it opens on a pronoun ("It may have
        disagreed with them", "This helped them meet ...") or on a verb with no subject ("Describes the key
        steps ..."). A note-taker's "disagrees w/ ..." keeps its speaker (see :meth:`speaker_verb`)."""
        first = _WORD_RE.match(text)
        if first is None:
            return False
        word = first.group(0)
        if self.speaker_verb(text):
            return False
        if self.tagger is None:
            return word.lower() in ("it", "they", "he", "she")
        doc = self._doc(text)
        head = doc[0]
        if word.lower() in _PRONOUN_SUBJECTS and (head.tag_ in ("PRP", "PRP$") or head.dep_ in ("nsubj", "nsubjpass")):
            return True
        if (word[:1].isupper() and word.endswith("s") and _third_person_base(word.lower()) in _ACTION_VERBS
                and len(doc) > 1 and doc[1].tag_ in ("DT", "IN", "JJ", "PRP$", "NNS", "NN")):
            return True  # "Distinguishes between those ...", "Evaluates the current ...": tagged a plural noun
        return head.tag_ == "VBZ" and not any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in head.children) and (
            head.dep_ == "ROOT" or word[:1].isupper())

    def speaker_verb(self, clause: str) -> tuple[str, str] | None:
        """``(verb in the past, rest)`` for a claim that opens on its speaker's verb, typed in lower case:
        "disagrees with softer framing" -> ("disagreed with", "softer framing")."""
        m = re.match(r"(?P<verb>[a-z]+)\s+(?:(?P<with>with|w/)\s+)?(?P<rest>\S.*)$", clause)
        if not m or m.group("verb") not in _SPEAKER_VERBS:
            return None
        past = _SPEAKER_VERBS[m.group("verb")]
        if m.group("verb") == "pushes":
            back = re.match(r"back(?:\s+on)?\s+(.*)$", m.group("rest"))
            return ("pushed back on", back.group(1)) if back else None
        if m.group("with") and not past.endswith(" with"):
            past += " with"
        return past, m.group("rest")

    def _hedged(self, text: str) -> str:
        """"..., and safety calls are down 30%" -> "..., and safety calls are apparently down 30%": the doubt
        goes after the first finite verb of the last clause (the one the question mark was typed after)."""
        tokens = self.tags(text)
        start = max((i for i, (w, _, _) in enumerate(tokens) if w in (",", ";")), default=-1) + 1
        at = next((i for i in range(start, len(tokens)) if tokens[i][1] in _FINITE_TAGS), None)
        if at is None:
            return text
        return _insert(tokens, at + 1, "apparently")

    def _bare_noun_phrase(self, text: str) -> bool:
        """Whether ``text`` is a noun phrase with no verb of its own ("expedited removal expansion",
        "transfers out of state within 24-48 hours"), typed so it may stand after "with"."""
        if self.tagger is None or len(text.split()) < 2 or not self.embeddable(text) or text[:1].isupper():
            return False
        doc = self._doc(text.rstrip(","))
        sents = list(doc.sents)
        if any(t.lower_ in ("versus", "vs", "vs.", "or") for t in doc):
            return False  # "service frequency versus coverage": the topic of a debate, not a circumstance
        return len(sents) == 1 and sents[0].root.tag_ in ("NN", "NNS") and not any(
            t.tag_.startswith(("VB", "MD")) and t.dep_ not in ("amod", "compound") for t in doc)

    def _own_subject(self, text: str) -> bool:
        """Whether ``text`` is a clause with its own subject ("people here ... can be removed")."""
        return (self.tagger is not None and not re.match(r"(?:and|but|or|so|then|which|who)\b", text)
                and self.has_finite_verb(text)
                and any(t.dep_ in ("nsubj", "nsubjpass", "expl") for t in self._doc(text)))

    def _definite(self, phrase: str) -> str:
        """"expedited removal expansion" -> "the expedited removal expansion" (a bare singular noun phrase)."""
        doc = self._doc(phrase)
        root = next(iter(doc.sents)).root
        if root.tag_ != "NN" or root.text in _MASS or doc[0].tag_ in ("DT", "PRP$", "CD", "POS", "PRP"):
            return phrase
        return "the " + phrase

    def _colon(self, text: str) -> str:
        m = re.search(r":\s+", text)  # never inside a web address ("https://")
        if not m:
            return text
        head, tail = text[: m.start()].strip(), text[m.end():].strip()
        if not head or not tail:
            return head or tail
        head = self._status(head) or head
        if self.tagger is not None and not self.has_finite_verb(head):
            passive = self._copula(head)  # "model data ordinance drafted" -> "... was drafted"
            if passive != head and self.has_finite_verb(passive):
                head = passive
                if self._verb_led(tail):  # "limits collection ..., bans sharing ...": what it does
                    return f"{head}, and it {tail}"
        if tail[:1] in "'\"“‘":
            return f"{head}: {tail}"  # a quotation stays introduced by its colon
        head_words = head.split()
        last = head_words[-1].lower().strip(",.")
        lead_piece = re.split(r",\s+", tail, maxsplit=1)[0]
        if re.match(r"(?:where|when|if|once|until|unless|while|wherever|whenever)\s", head) and self._imperative(tail):
            return f"{tail}, {head}"  # "where X: push Y" -> "push Y, where X": an order with its condition
        if _URLISH_RE.match(tail) or (tail.startswith("[") and "](" in tail):
            return f"{head} {'are' if _plural(last, None) else 'is'} available at {tail}"
        if last in _SPEAKERS and len(head_words) <= 5:
            return f"{head} said {self._mend(tail)}"  # "conditions likely unlawful" -> "conditions are likely ..."
        if self.has_finite_verb(head) and len(head_words) > 2:
            if not self.has_finite_verb(lead_piece):
                if any(self._opens_on_subject(p) for p in re.split(r",\s+", tail)[1:]):
                    return ""  # "X exceeded: A 3 times, B doubled": "with" cannot carry a clause
                return f"{head}, with {tail}"
            if self.embeddable(tail):
                return f"{head}, and {tail}" if not _CONTRAST_START.match(tail) else f"{head}, {tail}"
            return f"{head}. {capitalize_first(tail)}"
        if len(head_words) <= 6:
            if self.tagger is not None and head[:1].isupper() and self._subject_clause(self._copula(lead_piece)):
                # "Northgate Food Bank: walk-in pantry doubled" -> "at Northgate Food Bank, the walk-in pantry doubled"
                at = "at" if head_words[-1].lower() in _ORGANIZATION_HEADS else "in"
                return f"{at} {head}, {self.determined(self._mend(tail))}"
            if self.has_finite_verb(lead_piece) and self._has_subject(tail):
                return tail if len(tail.split()) >= 4 else f"{head}: {tail}"
            if _heads(head_words, _SHOWED):
                return f"{head} showed {tail}"
            if _heads(head_words, _WAS):
                return f"{head} was {tail}"
            if self._starts_with(lead_piece, "VBG") or re.match(r"(?:a|an|the)\s", tail):
                # "Burn-up chart: a graph that ..." defines the head
                return f"{head} {'are' if _plural(last, self._tag_of(head, head_words[-1])) else 'is'} {tail}"
            if (self.tagger is not None and head[:1].islower()
                    and (self._has_subject(lead_piece) or self._subject_clause(self._copula(lead_piece)))
                    and self.has_finite_verb(self._copula(lead_piece))):
                return f"in {self._definite(head)}, {tail}"  # "expedited removal: 4 ppl removed ..." -> "in ..., 4 people were removed"
            return f"{head} had {tail}"
        if self._bare_noun_phrase(head) and not self.has_finite_verb(lead_piece):
            return f"{head} had {tail}"  # "records request for ... agents: 400 pages" is one claim
        return f"{head}. {capitalize_first(tail)}"

    def _opens_on_subject(self, text: str) -> bool:
        """Whether ``text`` is a clause that opens on its subject ("detention beds in region doubled"), not a
        relative or circumstance ("during which the problem is framed")."""
        if not self._own_subject(text):
            return False
        doc = self._doc(text)
        return any(t.dep_ in ("nsubj", "nsubjpass") and t.left_edge.i == 0 and t.head.tag_.startswith(("VB", "MD"))
                   and not _subordinate(t.head) for t in doc)

    def _subject_clause(self, text: str) -> bool:
        """Whether ``text`` is a clause with its subject before its verb, though it opens on a participle
        ("detained docket tripled", "archived records are still searchable")."""
        if self.tagger is None:
            return False
        doc = self._doc(text)
        return any(t.pos_ in ("VERB", "AUX") and t.tag_ in _FINITE_TAGS | {"VBN"} and t.dep_ == "ROOT"
                   and (t.tag_ != "VBN" or any(c.dep_ == "auxpass" for c in t.children))
                   and any(c.dep_ in ("nsubj", "nsubjpass") and c.i < t.i and c.i > 0 for c in t.children)
                   for t in doc)

    def _starts_with(self, text: str, tag: str) -> bool:
        tokens = self.tags(text)
        return self.tagger is not None and bool(tokens) and tokens[0][1] == tag

    def _has_subject(self, text: str) -> bool:
        tokens = self.tags(text)
        if self.tagger is None or not tokens:
            return bool(tokens) and tokens[0][0].lower() not in _FINITE
        return tokens[0][1] not in ("VB", "VBZ", "VBP", "VBD", "MD", "VBN")

    def _mend(self, text: str) -> str:
        """Give each comma-separated fragment of ``text`` the copula it lacks; join two clauses with "and"."""
        text = re.sub(r"(?<=[^,\s])\s+(?=but\s+[a-z])", ", ", text)  # "... plaintiffs but ppl terrified": a clause
        raw = re.split(r"(?<=,)\s+", text)
        circumstance = (len(raw) > 1 and self._bare_noun_phrase(raw[0].rstrip(","))
                        and self._own_subject(raw[1]))
        pieces = [("with " + self._definite(p.rstrip(",")) + ",") if i == 0 and circumstance
                  else p if i and self._verb_led(p) else self._copula(p) for i, p in enumerate(raw)]
        for i in range(1, len(pieces)):
            if (raw[i].startswith("but ") and pieces[i] != raw[i] and self.tagger is not None
                    and any(t in ("VBZ", "VBP") for _, t, _ in self.tags(pieces[i - 1]))):
                # "needs named plaintiffs, but people terrified" -> "but people are terrified": the tense it joins
                pieces[i] = re.sub(r"\b(was|were)\b", lambda m: {"was": "is", "were": "are"}[m.group(1)], pieces[i], 1)
            if _SHARED_SUBJECT_RE.match(pieces[i]) and self.has_finite_verb(pieces[i - 1]):
                # "parents don't have passports, can't travel together": one subject, two verbs
                pieces[i - 1], pieces[i] = pieces[i - 1].rstrip(","), "and " + pieces[i]
                continue
            # "..., starts April" -> "..., starting in April": a verb without its subject follows the clause
            first = pieces[i].split(" ", 1)
            if self.tagger is not None and self._starts_with(pieces[i], "VBZ") and first[0].islower():
                pieces[i] = " ".join([gerund(_third_person_base(first[0]))] + first[1:])
        if (len(pieces) >= 2 and self.tagger is not None and self.has_finite_verb(pieces[-1])
                and self.has_finite_verb(pieces[-2]) and self._has_subject(pieces[-1])
                and not re.match(r"(?:and|but|or|so|while|which|who|when|where|because)\b", pieces[-1])):
            pieces[-1] = "and " + pieces[-1]
        out = " ".join(pieces)
        # "Hotline playbook from Rapid Response Commons https://..." -> "... is available at https://..."
        m = re.match(r"(?P<np>[^,;]+?)\s+(?P<url>https?://\S+)$", out)
        if m and not self.has_finite_verb(m.group("np")):
            head = re.split(r"\s+(?:from|of|for|with|in|on|by|at)\s+", m.group("np"))[0].split()[-1]
            out = f"{m.group('np')} {'are' if _plural(head, None) else 'is'} available at {m.group('url')}"
        return out

    def _copula(self, piece: str) -> str:
        lead = re.match(r"(?:but|and|so)\s+", piece)
        if lead:  # "but no written directive yet": the conjunction stays, the rest is mended
            return lead.group(0) + self._copula(piece[lead.end():])
        status = self._status(piece)
        if status:
            return status
        tokens = self.tags(piece)
        for k in range(1, len(tokens) - 2):
            # "safety calls down 30%": a plural noun before "up"/"down" and a figure, though tagged a verb
            if (tokens[k][1] == "VBZ" and tokens[k][0] not in ("is", "has") and tokens[k - 1][1] in _NOUN_TAGS
                    and tokens[k + 1][0] in ("up", "down")
                    and tokens[k + 2][1] in ("CD", "$")):
                return _insert(tokens, k + 1, "are")
        paired = self._noun_pair_participle(piece)
        if paired:
            return paired
        if self.has_finite_verb(piece):
            return piece
        words = piece.split()
        if words and words[0] == "no" and len(words) > 1 and not self._imperative(piece):
            # "no written directive yet" -> "there is no written directive yet"
            head = next((w for w in words[1:] if not re.match(r"(?:further|more|real|clear|written|formal)$", w)),
                        words[1])
            return f"there {'are' if _plural(head.strip(',.'), self._tag_of(piece, head)) else 'is'} {piece}"
        if self.tagger is not None:
            # "Riverton ordinance from 2017 never updated" -> "... was never updated"
            root = next(iter(self._doc(piece).sents)).root
            subject = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
            if root.tag_ == "VBN" and subject is not None and subject.tag_.startswith("NN") and not any(
                    c.dep_ in ("dobj", "dative", "ccomp") for c in root.children):  # "lanes cut travel time" is active
                at = root.i
                while at > subject.i + 1 and root.doc[at - 1].dep_ in ("neg", "advmod"):
                    at -= 1
                if at == subject.right_edge.i + 1:
                    return _insert(self.tags(piece), at, self._passive(subject.text, subject.tag_, self.tags(piece)[at:]))
        tokens = self.tags(piece)
        if len(tokens) < 3:
            return piece
        for k in range(1, len(tokens) - 1):
            word, tag, _ = tokens[k]
            prev, prev_tag, _ = tokens[k - 1]
            low = word.lower()
            if self.tagger is not None:
                if k == 1 and tag != "VBG" and tokens[0][0][:1].isupper() and tokens[0][0] not in self.proper:
                    continue  # "Defines the ...": a capitalized first word alone may be a verb, not a subject
                if not all(t in _NP_TAGS for _, t, _ in tokens[:k]) or prev_tag not in _NOUN_TAGS:
                    if tag not in _NP_TAGS:
                        return piece
                    continue
                nxt = tokens[k + 1][1]
                if tag == "VBG":
                    verb = "are" if _plural(prev, prev_tag) else "is"
                elif tag == "VBN" and nxt in ("IN", "RB", "RP", "TO", "CD"):
                    verb = self._passive(prev, prev_tag, tokens[k + 1:])
                elif low in _COPULA_ADVERBS or (low in ("up", "down") and nxt in ("CD", "$")) or (
                        tag == "DT" and low in ("the", "a", "an", "no")) or (
                        tag in ("JJ", "JJR") and k > 1 and nxt in ("IN", "TO", "CC", ",", ".")):
                    verb = "are" if _plural(prev, prev_tag) else "is"
                else:
                    if tag in _NP_TAGS:
                        continue
                    return piece
            else:
                up = low in ("up", "down") and tokens[k + 1][0][:1] in "0123456789$"
                if (low not in _COPULA_ADVERBS and not up) or not prev[:1].isalpha():
                    if k > 3:
                        return piece
                    continue
                verb = "are" if _plural(prev, None) else "is"
            return _insert(tokens, k, verb)
        return piece

    def _noun_pair_participle(self, piece: str) -> str:
        """"courthouse arrests continuing" -> "courthouse arrests are continuing": a participle heading the clause
        with a subject and no auxiliary takes one (also where the small model read a bare noun and a plural
        noun as subject and verb); "" when ``piece`` is no such clause."""
        if self.tagger is None:
            return ""
        doc = self._doc(piece)
        for head in doc:
            children = list(head.children)
            subject = next((c for c in children if c.dep_ == "nsubj"), None)
            if head.tag_ == "VBG" and head.dep_ == "ROOT" and subject is not None and subject.i < head.i and not any(
                    c.dep_ in ("aux", "auxpass") for c in children):
                at = head.i  # "Harbor City now litigating" -> "Harbor City is now litigating": before the adverbs
                while at > subject.i + 1 and doc[at - 1].dep_ in ("advmod", "neg") and doc[at - 1].head.i == head.i:
                    at -= 1
                return _insert(self.tags(piece), at, "are" if _plural(subject.text, subject.tag_) else "is")
            participle = next((c for c in children if c.dep_ == "xcomp" and c.tag_ == "VBG" and c.i == head.i + 1),
                              None)
            before = doc[head.i - 1] if head.i else None
            if (head.tag_ in ("VBZ", "VBP") and head.dep_ == "ROOT" and head.lower_.endswith("s")
                    and participle is not None and before is not None and before.dep_ == "nsubj"
                    and before.tag_ == "NN" and not any(c.dep_ in ("det", "poss") for c in before.children)
                    and not any(c.dep_ == "dobj" for c in children)):
                return _insert(self.tags(piece), participle.i, "are")
        return ""

    @staticmethod
    def _passive(subject: str, tag: str | None, rest: list) -> str:
        """The auxiliary a participle gets: in the past, unless what follows is in the present ("sighting
        confirmed by 2 responders before anything gets posted" -> "is confirmed")."""
        tags = {t for _, t, _ in rest}
        present = tags & {"VBZ", "VBP"} and "VBD" not in tags
        if _plural(subject, tag):
            return "are" if present else "were"
        return "is" if present else "was"

    def _verb_led(self, piece: str) -> bool:
        """"bans sharing for civil immigration enforcement" after "it limits collection,": a verb that shares
        the clause's subject, though the small model may tag it a plural noun."""
        first = piece.split(" ", 1)[0]
        return (self.tagger is not None and first.islower() and first.endswith("s") and len(piece.split()) > 1
                and _third_person_base(first) in _ACTION_VERBS | _SERIES_VERBS
                and self._tag_of(piece, first) in ("VBZ", "NNS"))

    def _tag_of(self, text: str, word: str) -> str | None:
        return next((t for w, t, _ in self.tags(text) if w == word), None)

    def _status(self, piece: str) -> str:
        """"Lakeport inventory done, ..." -> "Lakeport inventory is complete"; "" when ``piece`` has no status word."""
        tokens = self.tags(piece)
        for k in range(1, min(len(tokens), 7)):
            word, _, space = tokens[k]
            bare = word.rstrip(",;")  # word lists keep a comma on its word ("done,")
            if bare not in _STATUS and bare.lower() not in _STATUS:
                continue
            nxt = "," if bare != word else tokens[k + 1][0].lower() if k + 1 < len(tokens) else ""
            if nxt and nxt not in (",", "but", "with", "and", "for", "by", "in", "on", "at", "except", "so"):
                return ""
            j = k  # "X almost done": the verb goes before the adverb
            while j > 1 and tokens[j - 1][0].lower() in ("almost", "nearly", "mostly", "now", "finally", "partly",
                                                         "largely", "all", "already"):
                j -= 1
            if j == 0 or tokens[0][0].lower() in _COPULA_ADVERBS | {"almost", "nearly"}:
                return ""
            if any(w.lower() in ("is", "are", "was", "were", "not") for w, _, _ in tokens[:k]):
                return ""
            if self.tagger is not None and not all(t in _NP_TAGS | {"NNP", "VBN"} for _, t, _ in tokens[:j]):
                return ""
            verb, predicate = _STATUS.get(bare) or _STATUS[bare.lower()]
            predicate += word[len(bare):]
            subject = tokens[j - 1][0]
            if verb == "is" and _plural(subject, tokens[j - 1][1]):
                verb = "are"
            elif verb == "was" and _plural(subject, tokens[j - 1][1]):
                verb = "were"
            elif verb == "has" and _plural(subject, tokens[j - 1][1]):
                verb = "have"
            head = "".join(w + (sp or " ") for w, _, sp in tokens[:j]).strip()
            adverbs = "".join(w + " " for w, _, _ in tokens[j:k])
            tail = "".join(w + (sp if sp is not None else " ") for w, _, sp in tokens[k + 1:]).strip()
            joined = f"{head} {verb} {adverbs}{predicate}"
            if tail:
                joined += ("" if tail[:1] in ",.;" else " ") + tail
            return joined
        return ""

    # ---- articles

    def articled(self, text: str) -> str:
        """``text`` with "a", "an" or "the" before each singular count noun a note typed without one ("the
        county signed contract with new vendor" -> "... signed a contract with a new vendor"). The phrase at
        the start of ``text`` is left to :meth:`determined`; unchanged where unsure."""
        if self.tagger is None:
            return _articled_lexical(text)
        doc = self._doc(text)
        quoted = {m.span() for m in _QUOTED_RE.finditer(text)} | {m.span() for m in _CODE_OR_LINK_RE.finditer(text)}
        inserts = {}
        for token in doc:
            if any(a < token.idx < b for a, b in quoted):
                continue
            found = self._missing_article(token)
            if found:
                inserts[found[0]] = found[1]
        if not inserts:
            return text
        out, last = [], 0
        for at in sorted(inserts):
            out += [text[last:at], inserts[at], " "]
            last = at
        return "".join(out) + text[last:]

    def _missing_article(self, token) -> tuple[int, str] | None:
        """``(character offset, article)`` when ``token`` heads a subject or object as a bare singular count
        noun ("joined amicus", "budget office wants", "as interim measure"), else ``None``."""
        low = token.lower_
        if not _singular_noun(token) or not token.text.isalpha() or _uncounted(low):
            return None
        slot, governor = token.dep_, token
        if slot == "conj":  # "a directive and bulletin": a shared determiner counts
            while governor.dep_ == "conj":
                governor = governor.head
            slot = governor.dep_
            if not governor.tag_.startswith("NN") or any(
                    t.tag_ == "NNS" or any(c.dep_ == "det" for c in t.children) for t in (governor, *governor.conjuncts)):
                return None  # "no process, service, or product", "emoji, gifs, or humor": a list as typed
            lead = governor.left_edge.i
            if lead and token.doc[lead - 1].is_punct:
                return None  # its first item follows a comma: the list goes on from before it
        if slot not in ("nsubj", "nsubjpass", "dobj", "pobj", "pcomp", "attr"):
            return None
        doc = token.doc
        start = token.left_edge.i
        modifiers = doc[start:token.i]
        if slot in ("pobj", "pcomp") and not any(c.dep_ in ("amod", "compound", "nmod") and c.i < token.i
                                      for c in token.children):
            return None  # "by phone", "on leave", "from scratch": a bare noun after a preposition is idiom
        if start == 0 and slot in ("nsubj", "nsubjpass"):
            return None  # the clause's own subject: :meth:`determined`
        for noun in {token, governor}:
            if any(c.dep_ in ("det", "poss", "nummod", "predet") or c.tag_ in ("DT", "PRP$", "WP$", "CD", "POS")
                   for c in noun.children):
                return None
        if any((t.tag_ not in _MODIFIER_TAGS and not _hyphenated(t)) or t.dep_ in ("cc", "conj") for t in modifiers):
            return None  # "traffic and family court", "24-hour line", "its ...": not a plain modified noun
        first = doc[start]
        if first.text[:1].isupper() and not (first.text in self.proper or (first.text.isupper() and len(first) > 1)):
            return None  # a capitalized common word keeps its case, so nothing goes before it
        before = doc[start - 1] if start else None
        if _hyphenated(token) or before is not None and (
                before.is_punct or before.tag_ in ("NNP", "NNPS") and before.text[:1].isupper()):
            return None  # "server-side or client-side", "[doing / building]", "the “to be” state", "... Budget memo";
            # after a comma, an item of a list ("gender, age, socio-economic status")
        if before is not None and (before.tag_ in ("TO", "MD", "DT", "PRP$", "POS", "CD", "WDT")
                                   or before.lower_ in _DETERMINERS or before.dep_ in ("aux", "auxpass")):
            return None
        if (before is not None and before.i == token.head.i and before.tag_ not in ("IN", "RP")
                and not _finite_verb(before)):
            return None  # "get written directive", "and training bulletin": maybe a modifier read as a verb; an order's
            # object ("fund coordinator") is :meth:`call`'s
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if after is not None and (after.tag_ == "VBG" or after.lower_ == "not"):
            return None  # "majority in region support city not helping": a clause, not a noun phrase
        if any(c.dep_ == "conj" and any(t.tag_ == "NNS" for t in c.subtree) for c in token.children):
            return None  # "existing tenant and worker organizations": modifiers of one plural noun
        definite = slot in ("nsubj", "nsubjpass") or any(
            t.tag_ == "JJS" or t.lower_ in _DEFINITE_MODIFIERS for t in modifiers)
        return first.idx, "the" if definite else a_or_an(first.text)

    def determined(self, text: str) -> str:
        """``text`` with "the" before a bare singular subject at its start ("Lakeport data office had" -> "the
        Lakeport data office had"); unchanged when unsure, without spaCy, or when the first word is a capitalized
        common word (its case is never changed, so nothing may go before it)."""
        first = _WORD_RE.match(text)
        if self.tagger is None or first is None or not (
                text[:1].islower() or first.group(0) in self.proper or is_acronym(first.group(0))):
            return text
        doc = self._doc(text)
        subject = next((t for t in doc if t.dep_ in ("nsubj", "nsubjpass")), None)
        if subject is None or not _singular_noun(subject) or subject.text in _MASS:
            return text
        if subject.text.endswith("ing") or subject.head.i < subject.i:
            return text
        start = subject.left_edge.i
        if start != 0 or any(t.tag_ in ("DT", "PRP$", "POS", "CD", "PRP", "WDT") or t.text.lower() in ("each", "every")
                             for t in doc[: subject.i + 1]):
            return text
        if not all(t.tag_ in ("NN", "NNP", "NNPS", "JJ", "VBN", "HYPH", "NNS") for t in doc[: subject.i]):
            return text
        if doc[0].text[:1].isupper() and doc[0].text not in self.proper and not is_acronym(doc[0].text):
            return text
        if subject.text.endswith(_ABSTRACT) and not any(
                t.text in self.proper or t.dep_ == "compound" for t in doc[: subject.i]):
            return text  # "public assistance ended": a quality or process; "model data ordinance" is a thing
        return "the " + text

    def _indefinite(self, phrase: str) -> str:
        """"written directive from the chief" -> "a written directive from the chief" (bare singular object)."""
        counted = re.match(r"\d+-[a-z]", phrase)  # "2-year fellowship program" is one thing
        if self.tagger is None or not (phrase[:1].islower() or counted):
            return phrase
        doc = self._doc(phrase)
        chunk = next(iter(doc.noun_chunks), None)
        if chunk is None or chunk.start != 0 or not _singular_noun(chunk.root) or chunk.root.text in _MASS:
            return phrase
        if (_uncounted(doc[0].lower_) and doc[0].dep_ != "compound") or chunk.root.text.endswith("ing") or any(
                t.tag_ in ("DT", "PRP$", "POS", "PRP") or (t.tag_ == "CD" and not counted) for t in chunk):
            return phrase
        return a_or_an(phrase.split()[0]) + " " + phrase

    # ---- instructions as reported calls

    def call(self, clause: str) -> str:
        """An instruction as what participants called for, without its subject; "" when ``clause`` is none.

        "get written directive from the chief" -> "called for a written directive from the chief";
        "publish comparative table ..." -> "recommended publishing a comparative table ...";
        "Riverton to fund RRN-adjacent pieces" -> "proposed that Riverton fund RRN-adjacent pieces".
        Only a verb typed in lower case is rewritten: a capitalized first word keeps its case.
        """
        m = re.match(r"(?P<np>[^,;:]{2,60}?)\s+to\s+(?P<verb>[a-z][\w-]*)\b(?P<rest>.*)$", clause)
        if m and not self._imperative(clause) and self.embeddable(m.group("np")) and (
                m.group("verb") in _ACTION_VERBS or self._tag_of(clause, m.group("verb")) == "VB") and (
                not self.has_finite_verb(m.group("np")) and not self._any_finite(m.group("np"))
                and m.group("verb") not in ("be", "have", "do")
                and not re.search(r"\b(?:need|needs|want|wants|going|have|has|had|plan|plans|how|what|able|ways?|about|"
                                  r"due|set|likely|ready|expected|supposed|trying|time|way|order|used)$", m.group("np"))):
            return f"proposed that {self.determined(m.group('np'))} {m.group('verb')}{m.group('rest')}"
        if not self._imperative(clause) or re.search(r"\b(?:is|are) available at\b", clause):
            return ""
        verb, _, rest = clause.partition(" ")
        if not rest:
            return ""
        if verb in _CALL_FOR:
            return f"called for {self._indefinite(rest)}"
        prep = re.match(r"for\s+(.*)$", rest)
        if verb in _CALL_FOR_PREP and prep:
            return f"called for {self._indefinite(prep.group(1))}"
        obj = re.match(r"(?P<particle>(?:up|out|back|down|off|on|in|into|to|with|for|about)\s+)?(?P<rest>.*)$", rest)
        particle = obj.group("particle") or ""
        return f"recommended {gerund(verb)} {particle}{self._indefinite(obj.group('rest'))}"

    def generality(self, clause: str) -> int:
        """How much a claim reads as a finding: a statement in the present, without figures, names or links."""
        score = 0
        if re.search(r"\d", clause) is None:
            score += 1
        if not any(w in self.proper for w in _WORD_RE.findall(clause)):
            score += 1
        if _URLISH_RE.search(clause):
            score -= 2
        if len(clause.split()) > 25:
            score -= 1
        if self.tagger is not None:
            tags = {tag for _, tag, _ in self.tags(clause)}
            score += 2 if tags & {"VBZ", "VBP", "MD"} and self.has_finite_verb(clause) else 0
            score -= 2 if self._imperative(clause, any_case=True) else 0
        elif self.has_finite_verb(clause):
            score += 1
        return score

    # ---- sentences

    def topic_sentence(self, clause: str, who: str, verb: str, action: bool = False) -> str:
        """The bullet's first sentence: the claim with its attribution woven in once.

        Before the claim when its first word may stand mid-sentence ("Legal advocates reported that
        Eastbank ..."), after it otherwise ("Expedited removal ..., legal advocates reported").
        """
        spoken = self.speaker_verb(clause)
        if spoken:  # the verb is one speaker's: a group of roles reports it, never shares it
            if re.match(r"(?:a|an)\s+[\w -]+$", who) and " and " not in who:
                return f"{capitalize_first(who)} {spoken[0]} {spoken[1]}."
            return f"{capitalize_first(who)} described how one participant {spoken[0]} {spoken[1]}."
        if not self.embeddable(clause):
            if self._imperative(clause, any_case=True):  # an order is reported as advice, its capital kept
                return f"{capitalize_first(who)} recommended: {clause}."
            advice = re.search(r"\b(?:should|must|need|needs|ought)\b", clause)  # a statement recommends nothing
            said = "recommended" if action and advice else verb if verb not in _ACTION_VERBS_SAID else "described"
            return f"{capitalize_first(clause)}, {who} {said}."
        called = self.call(clause)
        if called:
            return f"{capitalize_first(who)} {called}."
        if not self.has_finite_verb(clause) and not self._any_finite(clause) and not self._predicated(clause):
            if action:
                return f"{capitalize_first(who)} called for {self._indefinite(clause)}."
            counted = re.match(r"(?:no|about|over|more)\b|[\d$]", clause)
            return f"{capitalize_first(who)} {'reported' if counted else 'pointed to'} {self._indefinite(clause)}."
        if verb in ("recommended", "proposed") and not re.search(
                r"\b(?:should|must|need|needs|ought|would|could)\b", clause):
            verb = "reported"  # "recommended that foundations had pooled a fund" recommends nothing
        link = "described how" if verb == "described" else f"{verb} that"
        return f"{capitalize_first(who)} {link} {clause}."

    def _predicated(self, clause: str) -> bool:
        """Whether ``clause`` is a subject and its predicate though no verb is tagged finite ("retention limits
        matter as much as ..." with "matter" read as an adverb): it takes "noted that", never "pointed to"."""
        if self.tagger is None:
            return False
        root = next(iter(self._doc(clause).sents)).root
        return (not root.tag_.startswith("NN") and root.tag_ not in ("IN", "VBG", "VBN", "JJ", "CD")
                and any(c.dep_ == "nsubj" and c.i < root.i and not _comma_split(c, root) for c in root.children))

    def rough(self, clause: str) -> bool:
        """Whether ``clause`` keeps a note's grammar that the rules above leave alone: a singular count noun
        heading a subject or object without a determiner ("the faith network got outside counsel memo",
        "Biggest surprise is ..."). Used to prefer another claim, never to rewrite one; ``False`` without spaCy."""
        if self.tagger is None:
            return False
        for t in self._doc(clause):
            if t.tag_ == "NN" and t.text.isalpha() and t.dep_ in ("nsubj", "nsubjpass", "dobj", "attr") and not (
                    _uncounted(t.lower_) or t.text[:1].isupper() and t.i > 0 or any(
                        c.dep_ in ("det", "poss", "nummod", "predet") or c.tag_ in ("DT", "PRP$", "WP$", "CD", "POS")
                        for c in t.children)):
                return True
        return False

    def is_order(self, clause: str) -> bool:
        """Whether ``clause`` is an instruction, in whatever case it was typed ("Fund lasting capacity ...")."""
        return self._imperative(clause, any_case=True)

    def _any_finite(self, text: str) -> bool:
        return self.tagger is not None and any(tag in _FINITE_TAGS for _, tag, _ in self.tags(text))

    def _imperative(self, clause: str, any_case: bool = False) -> bool:
        """Whether the claim is an instruction ("fund paid coordinators"); typed in lower case unless ``any_case``."""
        tokens = self.tags(clause)
        if not tokens or not (any_case or tokens[0][0][:1].islower()) or len(tokens) < 2:
            return False
        word = tokens[0][0]
        if self.tagger is None:
            return word in _ACTION_VERBS and tokens[1][0].lower() not in _FINITE and not tokens[1][0].endswith("ed")
        doc = self._doc(clause)
        if tokens[0][1] == "VB" and next(iter(doc.sents)).root.i == 0:
            return True
        # the small model reads "fund part-time coordinators" as a noun, "get written directive" as a passive
        if doc[0].dep_ == "compound" and self.has_finite_verb(clause):
            return False
        if any(t.dep_ in ("nsubj", "nsubjpass") and t.head.tag_ in _FINITE_TAGS and t.left_edge.i == 0 for t in doc):
            return False  # "draft one-pager and warrant comparison is available": the first word is in a subject
        return word.lower() in _ACTION_VERBS and doc[0].dep_ not in ("nsubj", "nsubjpass") and not any(
            t.tag_ in ("VBZ", "VBP", "MD") or (t.tag_ == "VBD" and t.dep_ == "ROOT") for t in doc[1:6]) and \
            doc[1].tag_ not in ("VBZ", "VBP", "VBD", "MD", "POS")

    def _reported(self, clause: str) -> str:
        """How a claim that cannot open a sentence as typed is reported ("" when it can): an order as advice,
        a figure as what participants reported, a phrase without a verb as what they pointed to."""
        if self._imperative(clause, any_case=True) and not self.embeddable(clause):
            return f"recommended: {clause}"
        if re.match(r"[\d$£€]", clause):
            return f"reported that {clause}"
        if self.embeddable(clause) and not self.has_finite_verb(clause) and not self._any_finite(clause):
            return "" if self._predicated(clause) else f"pointed to {self._indefinite(clause)}"
        return ""

    def support(self, clauses: list[str]) -> list[str]:
        """A sentence for each of the other claims.

        A claim that contrasts ("but ...", "no ...", "only ...") joins the one before it with "but"; any
        other claim stands as its own sentence, so no connective claims a relation the notes do not state.
        An instruction becomes what participants called for ("Participants also recommended publishing ...").
        """
        out: list[str] = []
        rest = list(clauses)
        while rest:
            first = rest.pop(0)
            called = self.call(first)
            spoken = self.speaker_verb(first)
            if spoken:
                called = f"{spoken[0]} {spoken[1]}"
            elif not called and self.tagger is not None:
                called = self._reported(first)
            sentence = f"Participants also {called}" if called else capitalize_first(first)
            if rest and not called and self.embeddable(rest[0]) and _CONTRAST_START.match(rest[0]) and (
                    len(first.split()) + len(rest[0].split()) <= 38 and ", but " not in first):
                nxt = rest.pop(0)
                sentence += f", {nxt}" if re.match(r"but\b", nxt) else f", but {nxt}"
            out.append(sentence if sentence[-1:] in "?!." else sentence + ".")
        return out

_UNCOUNTED_ENDINGS = ("tion", "sion", "ment", "ness", "ance", "ence", "ism", "ing", "ics", "ship", "hood", "ogy",
                      "acy", "ery", "one", "body", "thing", "people", "men")
# Nouns read without an article as often as with one ("law", "policy", "practice"): left alone.
_UNCOUNTED = _MASS | {
    "metadata", "help", "space", "news", "hardware", "equipment", "knowledge", "leverage", "power", "pressure",
    "care", "shelter", "food", "cash", "response", "control", "contact", "history", "code", "content", "logic",
    "design", "strategy", "consent", "cost", "bias", "focus", "success", "debate", "loss", "inquiry", "quality",
    "harm", "damage", "fear", "stress", "burnout", "risk", "use", "context", "impact", "scope", "infrastructure",
    "consensus", "urgency", "certainty", "clarity", "law", "policy", "practice", "technology", "age", "culture",
    "year", "week", "month", "day", "lot", "half", "part", "most", "rest", "scratch", "leave", "credit", "mouth",
    "court", "school", "church", "bail", "custody", "parole", "probation", "transit", "debt", "rent", "land",
}
_CODE_OR_LINK_RE = re.compile(r"`[^`]*`?|\[[^\]]*\]|https?://\S+")
_MODIFIER_TAGS = {"JJ", "JJS", "NN", "NNP", "NNS", "HYPH", "VBN", "VBG"}
_DETERMINERS = {"a", "an", "the", "this", "that", "these", "those", "each", "every", "any", "no", "some", "another",
                "such", "what", "which", "whose", "either", "neither", "much", "many", "more", "most"}
_DEFINITE_MODIFIERS = {"first", "last", "next", "same", "only", "main", "current", "previous", "final", "entire",
                       "whole", "second", "third"}
# Without spaCy: a transitive verb typed in the past or third person, then its bare object.
_LEXICAL_TRANSITIVE = {"signed", "hired", "opened", "launched", "passed", "joined", "drafted", "built", "created",
                       "adopted", "filed", "formed", "pooled", "published", "started", "wants", "needs", "proposed",
                       "won", "lost", "funded", "appointed", "received", "announced", "released"}


# Count nouns among those endings: "a hearing", "an ordinance", "a petition".
_COUNTED = {"hearing", "meeting", "building", "briefing", "filing", "ruling", "finding", "listing", "ordinance",
            "document", "agreement", "amendment", "statement", "department", "settlement", "appointment",
            "apartment", "petition", "resolution", "coalition", "organization", "application", "station",
            "institution", "question", "position", "session", "commission", "conference", "sentence", "license",
            "grievance", "motion", "decision", "provision", "exemption", "exception", "option", "phone", "zone",
            "majority", "minority", "facility", "university"}


_SUBORDINATORS = {"if", "when", "while", "because", "although", "though", "before", "after", "once", "unless", "until",
                  "as", "since", "whether", "whenever"}


def _subordinate(verb) -> bool:
    """Whether ``verb`` heads a subordinate clause ("If your request is accepted", "Before you take part")."""
    return verb.dep_ in ("advcl", "relcl") or any(c.dep_ == "mark" and c.lower_ in _SUBORDINATORS
                                                   for c in verb.children)


def _comma_split(subject, verb) -> bool:
    """Whether a comma stands between ``subject`` and its ``verb`` ("the inventory across departments, flag
    every field"): an order typed after its topic, not a subject and its verb."""
    return sum(t.text == "," for t in subject.doc[subject.i + 1:verb.i]) % 2 == 1  # two: an aside ("X, which ..., is")


def _singular_noun(token) -> bool:
    """A singular common noun typed in lower case (the small model tags some, "tracker", as names)."""
    return token.tag_ in ("NN", "NNP") and token.text.islower()


def _finite_verb(token) -> bool:
    """A finite verb ("county signed", "has written"): its object is a noun for sure."""
    children = list(token.children)
    if token.tag_ in _FINITE_TAGS:
        return True
    # a base form after "to" may be a noun modifier ("able to video chat"): left alone
    return token.tag_ in ("VBN", "VBG") and any(c.dep_ == "aux" and c.tag_ in _FINITE_TAGS for c in children)


def _hyphenated(token) -> bool:
    """A part of a hyphenated word ("in" of "walk-in")."""
    doc = token.doc
    return any(0 <= j < len(doc) and doc[j].tag_ == "HYPH" and not doc[min(j, token.i)].whitespace_
               for j in (token.i - 1, token.i + 1))


def _uncounted(word: str) -> bool:
    if word in _COUNTED:
        return False
    return word in _UNCOUNTED or word.endswith(_UNCOUNTED_ENDINGS) or (word.endswith("ity") and len(word) > 5)


def _articled_lexical(text: str) -> str:
    """The word-list fallback of :meth:`Realizer.articled`: "a" or "an" before a bare object of one to three
    lower-case words after a transitive verb ("launched hotline" -> "launched a hotline")."""
    def add(m: re.Match) -> str:
        words = m.group("np").split()
        last = words[-1]
        if (any(w in _DETERMINERS or w in _FINITE or w in ("to", "not", "been", "up", "out") for w in words)
                or last.endswith(("s", "ed", "ly")) or any(_uncounted(w) for w in words[-1:])):
            return m.group(0)
        return f"{m.group('verb')} {a_or_an(words[0])} {m.group('np')}"

    return re.sub(r"\b(?P<verb>" + "|".join(sorted(_LEXICAL_TRANSITIVE)) +
                  r")\s+(?P<np>[a-z][a-z-]*(?:\s+[a-z][a-z-]*){0,2}?)(?=$|[,;.]|\s+(?:in|on|at|for|with|from|by|to|"
                  r"and|but|before|after)\b)", add, text)


_QUESTION_START = re.compile(r"(?:who|what|when|where|why|how|which|whether|can|could|should|would|will|do|does|"
                             r"did|is|are|was|were|has|have|any)\b", re.I)
_FIRST_PERSON = {"we": None, "We": None, "us": "them", "our": "their", "Our": "their", "ours": "theirs"}
_QUOTED_RE = re.compile(r"((?<!\w)['‘\"“][^'’\"”]*['’\"”](?!\w))")


def _third_person(text: str, speakers: str) -> str:
    """The note-taker's "we", "us", "our" outside quotes, as the speakers they stand for."""
    def swap(m: re.Match) -> str:
        return _FIRST_PERSON[m.group(0)] or speakers

    return "".join(part if _QUOTED_RE.fullmatch(part) else re.sub(r"\b(?:we|We|us|our|Our|ours)\b(?!['’])", swap, part)
                   for part in _QUOTED_RE.split(text))


def _heads(words: list[str], nouns: set[str]) -> bool:
    """Whether one of ``nouns`` is the head of the phrase ``words`` (not a modifier: "data office")."""
    for i, w in enumerate(words):
        if w.lower() in nouns and (i == len(words) - 1 or not words[i + 1][:1].islower()
                                   or words[i + 1] in ("from", "of", "for", "in", "on", "at", "by", "across")):
            return True
    return False


_DOUBLE_FINAL = {"commit", "refer", "admit", "submit", "permit", "prefer", "occur", "control", "equip", "transfer",
                 "regret", "omit", "compel", "begin", "forget", "upset", "format"}


def gerund(verb: str) -> str:
    """The -ing form of a base verb: "publish" -> "publishing", "write" -> "writing", "map" -> "mapping"."""
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "oe", "ye")) and len(verb) > 2:
        return verb[:-1] + "ing"
    vowels = "aeiou"
    if verb in _DOUBLE_FINAL or (len(verb) >= 3 and len(re.findall(r"[aeiou]+", verb)) == 1
                                 and verb[-1] not in vowels + "wxy" and verb[-2] in vowels and verb[-3] not in vowels):
        return verb + verb[-1] + "ing"
    return verb + "ing"


def _third_person_base(verb: str) -> str:
    """"starts" -> "start", "pushes" -> "push", "carries" -> "carry" (a verb in the third person, present)."""
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if verb.endswith(("shes", "ches", "xes", "sses", "zes")):
        return verb[:-2]
    return verb[:-1] if verb.endswith("s") else verb


def _insert(tokens: list[tuple[str, str | None, str]], k: int, verb: str) -> str:
    out = []
    for i, (word, _, space) in enumerate(tokens):
        if i == k:
            out.append(verb + " ")
        out.append(word + (space if space is not None else " "))
    return "".join(out).strip()


def _placeholders(text: str) -> str | None:
    """Write around anonymizer placeholders; ``None`` when the claim's main clause holds one.

    "[name] and [name] law schools" -> "two law schools"; "[name]'s team" ->
    "a participant's team"; any other clause holding a placeholder is left out.
    """
    if "[" not in text:
        return text

    def names(m: re.Match) -> str:
        follower = m.group(1)
        if follower.endswith("ed") or follower in _FINITE or follower in ("and", "or", "to", "of", "in", "with"):
            return m.group(0)  # "[name] and [name] agreed": the clause is left out below
        return number_word(m.group(0).count("[name]"))

    text = _NAMES_LIST_RE.sub(names, text)
    text = _POSSESSIVE_RE.sub("a participant's", text)
    if not PLACEHOLDER_RE.search(text):
        return text
    clauses = re.split(r"(?<=[,;:])\s+", text)
    if PLACEHOLDER_RE.search(clauses[0]):
        return None
    kept = [c for c in clauses if not PLACEHOLDER_RE.search(c)]
    return " ".join(kept).rstrip(",;: ")


def proper_words(texts: Iterable[str]) -> frozenset[str]:
    """Words typed capitalized inside a sentence and never in lower case: names of places and bodies."""
    capital: set[str] = set()
    lower: set[str] = set()
    for text in texts:
        for sentence in re.split(r"(?<=[.!?;:])\s+|\n", _URLISH_RE.sub(" ", text)):
            words = _WORD_RE.findall(sentence)
            for i, w in enumerate(words):
                if w[:1].islower():
                    lower.add(w.lower())
                elif i and w[:1].isupper() and not w.isupper():
                    capital.add(w)
    return frozenset(w for w in capital if w.lower() not in lower)
