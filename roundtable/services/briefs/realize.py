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

from roundtable.services.briefs.prose import capitalize_first, number_word

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
           "report", "tracker", "audit", "analysis", "poll", "results", "review", "study", "map", "dashboard"}
# Heads that name a problem or a point: "X was ...".
_WAS = {"problem", "issue", "gap", "challenge", "concern", "risk", "question", "priority", "goal", "ask", "lesson",
        "point", "worry", "fear", "need", "barrier", "bottleneck", "takeaway", "surprise"}
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


def _plural(word: str, tag: str | None) -> bool:
    if tag:
        return tag in ("NNS", "NNPS")
    return word.endswith("s") and not word.endswith(("ss", "us", "is"))


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

    @classmethod
    def for_notes(cls, texts: Iterable[str], tagger=None) -> Realizer:
        return cls(proper_words(texts), tagger)

    # ---- the parts of speech, from spaCy when installed

    def _doc(self, text: str):
        """spaCy's parse of ``text``, once per text."""
        key = ("doc", text)
        if key not in self._cache:
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

    # ---- one claim

    def clause(self, claim: str) -> str:
        """The claim rewritten as a clause with a verb (no closing stop); "" when nothing usable is left."""
        text = " ".join(claim.split())
        text = _placeholders(text)
        if text is None:
            return ""
        text = _ASIDE_RE.sub("", text)
        text = re.sub(r"\s+([,;:.])", r"\1", text).strip(" ,;:-–—")
        text = self._colon(text)
        parts = [p for p in re.split(r";\s+", text) if p.strip()]
        if not parts:
            return ""
        out = self._mend(parts[0])
        for p in parts[1:]:
            p = self._mend(p)
            out += (", and " + p) if self.embeddable(p) and not _CONTRAST_START.match(p) else (
                ", " + p if _CONTRAST_START.match(p) and p[:1].islower() else ". " + capitalize_first(p))
        out = re.sub(r", not (\w+)$", r", which is not \1", out)
        return out.rstrip(" ,;:-–—.")

    def _colon(self, text: str) -> str:
        m = re.search(r":\s+", text)  # never inside a web address ("https://")
        if not m:
            return text
        head, tail = text[: m.start()].strip(), text[m.end():].strip()
        if not head or not tail:
            return head or tail
        if tail[:1] in "'\"“‘":
            return f"{head}: {tail}"  # a quotation stays introduced by its colon
        head_words = head.split()
        last = head_words[-1].lower().strip(",.")
        lead_piece = re.split(r",\s+", tail, maxsplit=1)[0]
        if _URLISH_RE.match(tail) or (tail.startswith("[") and "](" in tail):
            return f"{head} {'are' if _plural(last, None) else 'is'} available at {tail}"
        if last in _SPEAKERS and len(head_words) <= 5:
            return f"{head} said {tail}"
        if self.has_finite_verb(head) and len(head_words) > 2:
            if not self.has_finite_verb(lead_piece):
                return f"{head}, with {tail}"
            if self.embeddable(tail):
                return f"{head}, and {tail}" if not _CONTRAST_START.match(tail) else f"{head}, {tail}"
            return f"{head}. {capitalize_first(tail)}"
        if len(head_words) <= 6:
            if self.has_finite_verb(lead_piece) and self._has_subject(tail):
                return tail if len(tail.split()) >= 4 else f"{head}: {tail}"
            verb = ("showed" if _heads(head_words, _SHOWED) else "was" if _heads(head_words, _WAS)
                    else "is" if self._starts_with(lead_piece, "VBG") else "had")
            return f"{head} {verb} {tail}"
        return f"{head}. {capitalize_first(tail)}"

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
        pieces = [self._copula(p) for p in re.split(r"(?<=,)\s+", text)]
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
        if self.has_finite_verb(piece):
            return piece
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
                    verb = "were" if _plural(prev, prev_tag) else "was"
                elif low in _COPULA_ADVERBS or (tag == "DT" and low in ("the", "a", "an", "no")) or (
                        tag in ("JJ", "JJR") and k > 1 and nxt in ("IN", "TO", "CC", ",", ".")):
                    verb = "are" if _plural(prev, prev_tag) else "is"
                else:
                    if tag in _NP_TAGS:
                        continue
                    return piece
            else:
                if low not in _COPULA_ADVERBS or not prev[:1].isalpha():
                    if k > 3:
                        return piece
                    continue
                verb = "are" if _plural(prev, None) else "is"
            return _insert(tokens, k, verb)
        return piece

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
            score -= 2 if self._imperative(clause) else 0
        elif self.has_finite_verb(clause):
            score += 1
        return score

    # ---- sentences

    def topic_sentence(self, clause: str, who: str, verb: str, action: bool = False) -> str:
        """The bullet's first sentence: the claim with its attribution woven in once.

        Before the claim when its first word may stand mid-sentence ("Legal advocates reported that
        Eastbank ..."), after it otherwise ("Expedited removal ..., legal advocates reported").
        """
        if not self.embeddable(clause):
            advice = action or self._imperative(clause, any_case=True)
            return f"{capitalize_first(clause)}, {who} {'recommended' if advice else verb}."
        if self._imperative(clause):
            return f"{capitalize_first(who)} {'recommended' if action else 'urged'} that the group {clause}."
        if not self.has_finite_verb(clause) and not self._any_finite(clause):
            if action:
                return f"{capitalize_first(who)} called for {clause}."
            counted = re.match(r"(?:no|about|over|more)\b|[\d$]", clause)
            return f"{capitalize_first(who)} {'reported' if counted else 'pointed to'} {clause}."
        link = "described how" if verb == "described" else f"{verb} that"
        return f"{capitalize_first(who)} {link} {clause}."

    def _any_finite(self, text: str) -> bool:
        return self.tagger is not None and any(tag in _FINITE_TAGS for _, tag, _ in self.tags(text))

    def _imperative(self, clause: str, any_case: bool = False) -> bool:
        """Whether the claim is an instruction ("fund paid coordinators"); typed in lower case unless ``any_case``."""
        tokens = self.tags(clause)
        if not tokens:
            return False
        if self.tagger is None or tokens[0][1] != "VB" or not (any_case or tokens[0][0][:1].islower()):
            return False
        return next(iter(self._doc(clause).sents)).root.i == 0

    def support(self, clauses: list[str], opener: str = "") -> list[str]:
        """One or two sentences from the other claims: related facts joined with "and", "while" or "but"."""
        out: list[str] = []
        rest = list(clauses)
        while rest and len(out) < 2:
            first = rest.pop(0)
            sentence = (f"{opener}{first}" if opener and not out and self.embeddable(first)
                        else capitalize_first(first))
            if rest and self.embeddable(rest[0]) and len(first.split()) + len(rest[0].split()) <= 38 and (
                    ", and " not in first and ", while " not in first) and (
                    len(out) == 1 or len(rest) == 1):
                nxt = rest.pop(0)
                if re.match(r"but\b", nxt):
                    sentence += f", {nxt}"
                elif _CONTRAST_START.match(nxt):
                    sentence += f", but {nxt}"
                elif re.search(r"\d", first) and re.search(r"\d", nxt):
                    sentence += f", while {nxt}"
                else:
                    sentence += f", and {nxt}"
            out.append(sentence if sentence[-1:] in "?!." else sentence + ".")
        return out


def _heads(words: list[str], nouns: set[str]) -> bool:
    """Whether one of ``nouns`` is the head of the phrase ``words`` (not a modifier: "data office")."""
    for i, w in enumerate(words):
        if w.lower() in nouns and (i == len(words) - 1 or not words[i + 1][:1].islower()):
            return True
    return False


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
