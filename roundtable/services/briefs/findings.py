"""Key Findings and Strategic Implications: what a series' themes say together, in words of their own.

A theme's Key Finding is chosen from its notes (:func:`theme_claims`), a strategic direction's from what
its action notes ask for (:func:`direction_calls`); neither repeats six words running of a bullet
(:func:`word_runs`). :func:`key_findings` and :func:`strategic_implications` render the two sections
(registered by ``roundtable_plugins.report_sections``). Deterministic and offline.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

import numpy as np

from roundtable.services.briefs.markdown import escape_md, note_markdown
from roundtable.services.briefs.prose import (
    across_sessions,
    attribution,
    capitalize_first,
    is_acronym,
    join_words,
    normalize_role,
    number_word,
    pluralize,
    stop_words,
)
from roundtable.services.briefs.realize import _ACTION_VERBS, Realizer, _uncounted, a_or_an, gerund
from roundtable.services.briefs.synthesis import (
    _ORDER_WORDS,
    _VAGUE_HEADS,
    _WORD_RE,
    DUPLICATE,
    Bullet,
    TextSpace,
    _chunk_topic,
    _words,
    central_order,
    compress,
    mentions,
)

if TYPE_CHECKING:
    from roundtable.services.briefs.context import BriefContext, NoteItem, ThemeItem


# --------------------------------------------------------------------------- claims


SHARED = 0.2  # TF-IDF cosine above which two notes of a theme make the same point
FINDING_NOTES = 24  # the theme's most central notes a finding and its support are chosen from
GENERAL = 4  # Realizer.generality of a claim that reads as a finding: present tense, no figure, name or link
COPIED_RUN = 6  # words running that, shared with a bullet, make a claim a copy of it
SAID = 0.6  # share of a claim's words one bullet sentence holds, above which the bullet says it already
MAX_SUPPORT = 2  # claims that support a Key Finding: the anatomy's "two or three sentences" after its claim


def word_runs(text: str, n: int = COPIED_RUN) -> set[tuple[str, ...]]:
    """Every run of ``n`` words of ``text`` (lower case): what a copy of it would share."""
    words = re.findall(r"[\w'’$%-]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def idea_stems(text: str) -> set[str]:
    """The words that name an idea, cut to five letters ("protection" and "protect" meet)."""
    return {w.lower()[:5] for w in _WORD_RE.findall(text) if len(w) > 3} - {w[:5] for w in stop_words()}


def theme_claims(notes: list[NoteItem], space: TextSpace, hidden: frozenset[str] = frozenset(),
                 realizer: Realizer | None = None,
                 bullets: list[Bullet] | None = None,
                 directions: bool = False, idea: str = "", general: bool = True,
                 limit: int = MAX_SUPPORT) -> tuple[tuple[str, list[NoteItem]] | None, list[tuple[str, list[NoteItem]]]]:
    """The theme's finding (None when no claim reads as one, or ``general`` is false), and up to ``limit``
    claims that support it, in words no bullet uses, each with the notes that make it.

    The finding is what most of the theme's notes say: among its most central notes, a claim that reads
    as a finding (a present-tense statement without figures, names or links: :data:`GENERAL`), the one
    that names the theme's ``idea`` (a word of its name, description or sub-themes) and whose point is
    shared most widely (by notes in the most bullets, sessions and roles); it stands for every note that makes its point,
    so its attribution runs over their roles and sessions. A claim that repeats six words running of a
    bullet is never used, nor one most of whose words one bullet sentence holds (:data:`SAID`): Key Findings
    generalise across the theme rather than copy its bullets.

    The support is the most widely shared claims of the theme's other points (their point made in the
    most sessions, then by the most roles: notes within :data:`SHARED` of it), each from a bullet of its
    own when it can be: a claim the realizer leaves as typed before one it mended by an article or a
    copula (:func:`mended`); a figure or a name (concrete) before a generality among equals. Never a claim
    it rewrote further, one keeping note grammar it cannot mend (:meth:`Realizer.rough`), one without a
    verb, nor an order outside ``directions``. A support claim stands for itself and
    the notes that repeat it (:data:`DUPLICATE` word overlap), so its attribution never claims more
    speakers than said it. Outside ``directions`` both come from points, not actions, when the theme has any.
    """
    if not notes or space.matrix is None:
        return None, []
    realizer = realizer or Realizer()
    plain = [n for n in notes if not n.links and n.kind != "resource"] or notes
    if not directions:  # a theme's finding is an observation; what to do belongs to Strategic Directions
        plain = [n for n in plain if n.kind != "action"] or plain
    rows = space.rows(plain)
    similar = (rows @ rows.T).toarray() >= SHARED
    written: set[tuple[str, ...]] = set()
    for bullet in bullets or []:
        written |= word_runs(bullet.synthesized or bullet.text)
    group_of = {i: k for k, bullet in enumerate(bullets or []) for i in bullet.note_ids}
    stems = idea_stems(idea)
    said = [_words(sentence) for bullet in bullets or [] for sentence in re.split(r"(?<=[.!?])\s+", bullet.synthesized or bullet.text)]

    def repeats(text: str) -> bool:
        """Whether most of the claim's words are one bullet sentence's: the bullet says it, in other words."""
        words = _words(text)
        return len(words) >= 3 and any(len(words & s) >= SAID * len(words) for s in said)

    candidates: list[tuple[int, str, str]] = []  # (note, clause, the claim as the note typed it)
    for i in central_order(rows)[:FINDING_NOTES]:
        note = plain[i]
        claim = compress(note.prose or note.text)
        if not claim or mentions(claim, hidden):
            continue
        text = realizer.clause(claim, pluralize(normalize_role(note.speaker_role)))
        if text and not word_runs(text) & written and not repeats(text) and all(text != t for _, t, _ in candidates):
            candidates.append((i, text, claim))
    if not candidates:
        return None, []

    def sharers(i: int) -> list[NoteItem]:
        return [plain[j] for j in np.flatnonzero(similar[i])]

    def reach(i: int) -> tuple[int, int, int]:
        group = sharers(i)
        return (len({group_of.get(n.id) for n in group}), len({n.session_number for n in group}),
                len({normalize_role(n.speaker_role) for n in group}))

    finding = None
    if general:
        # a finding states a generalisation: the most general claim, the most widely shared among equals;
        # a figure or a named place is support, not the finding (read aloud on the demo: tuning)
        level = GENERAL if realizer.tagger is not None else GENERAL - 1  # the word lists score one less
        ranked = sorted((k for k in range(len(candidates)) if realizer.generality(candidates[k][1]) >= level),
                        key=lambda k: (not idea_stems(candidates[k][1]) & stems, realizer.rough(candidates[k][1]),
                                       tuple(-r for r in reach(candidates[k][0])), k))
        if ranked:
            i, text, _ = candidates[ranked[0]]
            finding = (text, [plain[i]] + [n for n in sharers(i) if n.id != plain[i].id])
    used = {n.id for n in finding[1]} if finding else set()
    # a claim whose first word keeps a capital it was typed with ("Biggest surprise ...", "Track outcomes
    # ...") is one the realizer could not shape (it never changes a word's case): not support
    # a claim without a verb of its own is a topic, not support ("pointed to nurse visits ... double")
    rest = [(j, t, c) for j, t, c in candidates if plain[j].id not in used and realizer.embeddable(t)
            and (directions or not (realizer.is_order(t) or _opens_on_base_verb(t, realizer)))
            and (realizer.has_finite_verb(t) or realizer.is_order(t))]

    # a claim the realizer had to mend beyond an article or a copula ("Eastbank Legal Aid: detained docket
    # tripled" -> "... had detained the docket tripled") may read wrong: never support (read on the demo: tuning)
    # nor one keeping note grammar the realizer cannot mend (Realizer.rough): "to define and prioritize specific
    # problem" (read on the dev guides' Key Findings: tuning)
    rest = [c for c in rest if mended(c[1], c[2]) < 2 and not realizer.rough(c[1])]
    # nor one pointing into its own note ("elaborate on each principle below": dev guides, tuning)
    rest = [c for c in rest if not _POINTING_RE.search(c[1])]

    def rank(c: tuple[int, str, str]):
        j, text, claim = c
        _, sessions, roles = reach(j)
        return (mended(text, claim), -sessions, -roles, realizer.generality(text) >= GENERAL)

    rest.sort(key=rank)
    support: list[tuple[str, list[NoteItem]]] = []
    groups = {group_of.get(finding[1][0].id)} if finding else set()
    taken: set[int] = set(used)
    for pass_ in (0, 1):  # from bullets not yet drawn on first, then any
        for j, text, _ in rest:
            if len(support) == limit:
                break
            if plain[j].id in taken or (pass_ == 0 and group_of.get(plain[j].id) in groups):
                continue
            twins = [plain[j]] + [n for n in sharers(j) if n.id != plain[j].id and n.id not in taken
                                  and _overlap(n, plain[j]) >= DUPLICATE]
            support.append((text, twins))
            groups.add(group_of.get(plain[j].id))
            taken |= {n.id for n in sharers(j)}
    return finding, support


_SAFE_INSERTS = {"a", "an", "the", "is", "are", "was", "were"}
_POINTING_RE = re.compile(r"\b(?:below|above|the following|aforementioned)\b", re.I)


def mended(text: str, claim: str) -> int:
    """How much the realizer changed a claim: 0 not at all, 1 by adding articles or a copula ("transfers still
    the fastest-growing problem" -> "transfers are still ...") or leaving an aside in parentheses out, 2
    otherwise (a verb for a colon, a label left out, words replaced: "we" -> "legal advocates" excepted)."""
    old, new = re.findall(r"[\w'’$%-]+", claim.lower()), re.findall(r"[\w'’$%-]+", text.lower())
    aside = set(re.findall(r"[\w'’$%-]+", " ".join(re.findall(r"\(([^()]*)\)", claim.lower()))))
    level = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if (op == "delete" and set(old[i1:i2]) <= aside) or (op == "insert" and set(new[j1:j2]) <= _SAFE_INSERTS) or (
                op == "replace" and set(old[i1:i2]) <= {"we", "us", "our", "ours"}):
            level = 1
        else:
            return 2
    return level


def _opens_on_base_verb(text: str, realizer: Realizer) -> bool:
    """"track outcomes from day 1 or council won't renew": an order, though the clause after it has a verb.
    Its first word is a base verb, or a verb a note-taker opens orders with that the tagger reads as a noun,
    typed in lower case before a noun, a determiner or an adjective (its object, not its verb)."""
    tags = realizer.tags(text)
    if realizer.tagger is None or len(tags) < 2:
        return False
    (first, tag, _), (_, after, _) = tags[0], tags[1]
    return tag == "VB" or (first in _ORDER_WORDS | _ACTION_VERBS and after in ("NN", "NNS", "DT", "JJ", "PRP$"))


def _overlap(a: NoteItem, b: NoteItem) -> float:
    """Word overlap (Jaccard, stop words aside) of two notes' claims: above :data:`DUPLICATE` they repeat."""
    wa, wb = _words(compress(a.prose or a.text)), _words(compress(b.prose or b.text))
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


MAX_CALLS = 3  # things a direction's Key Finding names as called for
_ASK_FOR = {"push", "press", "ask", "advocate", "lobby", "call", "fight", "argue"}  # "ask the council for X"


def requested(claim: str, realizer: Realizer) -> str:
    """What an action note asks for, as a noun phrase to follow "called for" ("" when it names none).

    An order's object ("fund a standing pool of tenant lawyers" -> "a standing pool of tenant lawyers",
    "ask the council for X" -> "X"), or a note that is a noun phrase ("regional fare agreement w/ ..." ->
    "a regional fare agreement"), after a short label or condition before a colon when there is one. Never a proposal with its own subject ("Millbrook to publish ..."), a
    report, an order typed capitalized (its case is kept, so nothing is cut from it), nor a phrase
    :func:`topic_phrases` would refuse. Needs spaCy's parse.
    """
    if realizer.tagger is None or not (claim[:1].islower() or claim[:1].isdigit()):
        return ""
    head, colon, after = claim.partition(": ")
    if colon and len(head.split()) <= 6:  # "where councils agree: push a state law", "funders: pooled fund"
        return _requested(after, realizer) or _requested(claim, realizer)
    return _requested(claim, realizer)


def _requested(claim: str, realizer: Realizer) -> str:
    if not (claim[:1].islower() or claim[:1].isdigit()):
        return ""
    text = claim
    if realizer.is_order(claim):
        verb, _, text = claim.partition(" ")
        text = re.sub(r"^(?:up|out|back|down|off|together)\s+", "", text)  # "set up a 211 line"
        if verb in _ASK_FOR and re.search(r"\bfor\s", text):
            text = text.split("for ", 1)[1] if text.startswith("for ") else re.split(r"\sfor\s", text, 1)[1]
    elif realizer.has_finite_verb(claim) or realizer._any_finite(claim) or re.search(r"^\S+(?: \S+){0,5} to [a-z]", claim):
        return ""
    text = re.split(r"[:;(]", text, 1)[0].strip(" ,")
    if not text:
        return ""
    doc = realizer._doc(text)
    chunk = next(iter(doc.noun_chunks), None)
    if chunk is None or any(not (t.tag_ == "DT" or t.is_punct) for t in doc[:chunk.start]):
        return ""
    if not realizer.is_order(claim) and next(iter(doc.sents)).root.i != chunk.root.i:
        return ""  # "regional transit compact" read as "transit [is] compact": the parse names no thing
    end = chunk.end
    of = next((c for c in chunk.root.rights if c.dep_ == "prep" and c.lower_ == "of" and c.i == end), None)
    objects = [c for c in of.children if c.dep_ == "pobj"] if of is not None else []
    if objects:  # "a pool of tenant lawyers": the "of" and its noun with its modifiers, not what it is joined to
        end = objects[0].i + 1
    phrase = _chunk_topic(doc, chunk, realizer.proper) or _counted_thing(doc, chunk, realizer)
    if not phrase:
        return ""
    if " of " not in phrase and end > chunk.end:
        phrase = f"{phrase} {doc[chunk.end:end].text}"
    if phrase.startswith("the ") and not any(t.lower_ == "the" for t in chunk):
        bare = phrase[4:]  # "the" was added to a bare singular: a thing asked for is new to the reader
        return f"{a_or_an(bare)} {bare}"
    return phrase


def _counted_thing(doc, chunk, realizer: Realizer) -> str:
    """A noun chunk that holds a figure as part of its name ("a 311 script", "2-year fellowship program"),
    which :func:`_chunk_topic` leaves out of a list of topics but a call may name; "" otherwise."""
    tokens = [t for t in chunk if t.tag_ != "DT"]
    if not any(t.like_num for t in tokens) or tokens[-1].like_num or chunk.root.pos_ != "NOUN":
        return ""
    if chunk.root.lower_ in _VAGUE_HEADS or not 2 <= len(tokens) <= 5 or any(
            t.text[:1].isupper() and t.text not in realizer.proper or t.tag_ in ("PRP$", "JJS", "JJR") for t in tokens):
        return ""
    if tokens[0].like_num and not re.match(r"\d+-|\d{3} ", tokens[0].text_with_ws + (tokens[1].text if len(tokens) > 1 else "")):
        return ""  # "6 fellows", "3 schools": a count, not a name
    return ("the " if chunk.root.tag_ == "NN" else "") + doc[tokens[0].i:chunk.end].text


def direction_calls(notes: list[NoteItem], space: TextSpace, hidden: frozenset[str] = frozenset(),
                    realizer: Realizer | None = None,
                    bullets: list[Bullet] | None = None) -> tuple[list[str], list[NoteItem]]:
    """What participants called for under a strategic direction: up to :data:`MAX_CALLS` things asked for
    (:func:`requested`), most central first and from different bullets first, with the notes that asked.

    No phrase holds a word of a declined name, none repeats another, and none may stand in a sentence that
    shares six words running with a bullet: the direction's Key Finding is its own claim, not a bullet's.
    """
    realizer = realizer or Realizer()
    if not notes or space.matrix is None or realizer.tagger is None:
        return [], []
    written: set[tuple[str, ...]] = set()
    for bullet in bullets or []:
        written |= word_runs(bullet.synthesized or bullet.text)
    group_of = {i: k for k, bullet in enumerate(bullets or []) for i in bullet.note_ids}
    asks = [n for n in notes if n.kind == "action"] or notes
    found: list[tuple[str, NoteItem]] = []
    for i in central_order(space.rows(asks)):
        note = asks[i]
        phrase = requested(compress(note.prose or note.text), realizer)
        if not phrase or mentions(phrase, hidden) or mentions(note.prose or note.text, hidden):
            continue
        bare = re.sub(r"^(?:the|an?)\s+", "", phrase.lower())
        if any(bare in p.lower() or re.sub(r"^(?:the|an?)\s+", "", p.lower()) in bare for p, _ in found):
            continue
        if word_runs(f"participants called for {phrase} and") & written:
            continue
        found.append((phrase, note))
    groups_seen: set = set()
    spread = []
    for phrase, note in found:  # one from each bullet first, then the rest in order
        if group_of.get(note.id) not in groups_seen:
            groups_seen.add(group_of.get(note.id))
            spread.append((phrase, note))
    spread += [f for f in found if f not in spread]
    chosen = spread[:MAX_CALLS]
    return [p for p, _ in chosen], [n for _, n in chosen]


# --------------------------------------------------------------------------- sections


def major_themes(context: BriefContext) -> list[ThemeItem]:
    """The codebook's top-level themes that hold notes, in order."""
    return [t for t in context.themes if t.all_notes()]


def theme_finding(context: BriefContext, theme: ThemeItem, general: bool = True):
    """The theme's finding and support (:func:`theme_claims`) over the notes its synthesis grouped."""
    synthesis = context.synthesis(theme)
    space = synthesis.space
    written = synthesis.bullets + ([synthesis.disagreement] if synthesis.disagreement else [])
    idea = " ".join([theme.name, theme.description or ""] + [c.name for c in theme.children])
    return theme_claims(space.notes, space, context.hidden_words, context.realizer(), written,
                        theme.section == "Strategic Directions", idea, general)


def codebook_phrase(name: str, realizer: Realizer) -> str:
    """A codebook name (authored text, not a note's) lowered to stand mid-sentence: "Know-Your-Rights
    Education" -> "know-your-rights education". A word the notes only type as a name (:attr:`Realizer.proper`),
    an acronym ("ID") and a word with a capital inside ("iOS") keep their case."""
    def lowered(part: str) -> str:
        if part in realizer.proper or is_acronym(part) or not part[:1].isupper() or any(c.isupper() for c in part[1:]):
            return part
        return part[:1].lower() + part[1:]

    return " ".join("-".join(lowered(p) for p in word.split("-")) for word in name.split())


def theme_ideas(context: BriefContext, theme: ThemeItem) -> tuple[list[str], list[NoteItem]]:
    """What the theme's bullets cover, as phrases that may stand mid-sentence, with the notes of those bullets.

    A bullet named by a sub-theme gives the codebook's name lowered (:func:`codebook_phrase`); one named by a
    phrase of its notes gives that phrase only as the notes typed it (its first letter lowered only when a note
    has it so), never a word's case changed. The disagreement bullet and a fallback name give nothing.
    """
    realizer = context.realizer()
    synthesis = context.synthesis(theme)
    codebook = {c.name for c in theme.children}
    by_id = {n.id: n for n in theme.all_notes()}
    ideas: list[str] = []
    notes: list[NoteItem] = []
    for bullet in synthesis.bullets:
        lead = bullet.lead_in
        if lead in codebook:
            idea = codebook_phrase(lead, realizer)
        else:
            typed = [by_id[i].prose or by_id[i].text for i in bullet.note_ids if i in by_id]
            lowered = lead[:1].lower() + lead[1:]
            idea = next((form for form in (lowered, lead) if (form == lowered or realizer.embeddable(form)) and any(
                re.search(rf"(?<!\w){re.escape(form)}(?!\w)", t) for t in typed)), "")
            head = idea.split()[-1] if idea else ""
            if head[:1].islower() and not (head.endswith("s") and not head.endswith(("ss", "us", "is"))
                                           or _uncounted(head.lower())):
                idea = ""  # "heat wave": a bare singular would need an article the notes did not type
            elif idea and not _names_a_thing(idea, typed, realizer):
                idea = ""
        if idea and idea.lower() not in (i.lower() for i in ideas):
            ideas.append(idea)
            notes += [by_id[i] for i in bullet.note_ids if i in by_id]
    return ideas, notes


def _names_a_thing(phrase: str, typed: list[str], realizer: Realizer) -> bool:
    """Whether a phrase of the notes is, where a note typed it, a noun phrase a list of ideas can hold: it ends
    on a noun and opens on neither a verb (a modifier excepted) nor a preposition, and holds or takes no
    possessive ("making decisions", "inside web browsers", "partner's DevSecOps maturity" do not: read on
    the dev guides' Key Findings, tuning). True without spaCy."""
    if realizer.tagger is None:
        return True
    for text in typed:
        m = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text)
        if m is None:
            continue
        doc = realizer._doc(text)
        span = [t for t in doc if m.start() <= t.idx < m.end()]
        after = doc[span[-1].i + 1] if span and span[-1].i + 1 < len(doc) else None
        return bool(span) and span[-1].tag_ in ("NN", "NNS", "NNP", "NNPS") and not any(
            t.tag_ == "POS" or "’" in t.text or "'" in t.text for t in span) and not (
            after is not None and after.tag_ == "POS") and not (
            span[0].tag_ in ("IN", "TO", "RB", "MD") or span[0].tag_.startswith("VB") and span[0].dep_ != "amod")
    return False


def sessions_phrase(count: int, total: int) -> str:
    """"all five sessions", "three of the five sessions", "one session"."""
    if count > 1 and count == total:
        return f"all {number_word(count)} sessions"
    return f"{number_word(count)} of the {number_word(total)} sessions" if count > 1 else "one session"


def theme_overview(context: BriefContext, theme: ThemeItem, notes: list[NoteItem]) -> tuple[str, list[NoteItem]]:
    """One claim about the theme as a whole, in Markdown: how far it ran and what its bullets cover
    ("Across all five sessions, legal advocates and other participants described universal representation,
    rapid removal and detention, and litigation against overreach."), with the notes it stands for; how far
    it ran and among whom when no bullet's idea can be named."""
    ideas, covered = theme_ideas(context, theme)
    sessions = len({n.session_number for n in notes})
    across = sessions_phrase(sessions, len(context.sessions))
    if ideas:  # the paragraph's bold lead-in names the theme: the sentence need not repeat it
        # an idea holding its own "and" goes last, where the list's "and" closes it: mid-list, "funding threats
        # to cities, courthouse and jail enforcement" reads as a list of cities and courthouses (so parses spaCy)
        ideas = sorted(ideas, key=lambda idea: " and " in idea)
        where = f"Across {across}" if sessions > 1 else "In one session"
        return escape_md(f"{where}, {attribution(covered, limit=2)} described {join_words(ideas)}."), covered
    return escape_md(f"The theme came up in {across}, among {attribution(notes, limit=2)}."), []


def as_finding(framing: str, realizer) -> str:
    """A codebook description as a claim, or "" when it is none.

    "How X reach into Y." -> "X reach into Y."; a clause stands as it is. An instruction ("Fund lasting
    capacity ...") is a direction, never a finding: "". A phrase whose head carries a relative clause
    states what the relative says ("Ordinances that decide what a city shares." -> "Ordinances decide
    what a city shares.").
    """
    text = framing.strip().rstrip(".")
    if re.match(r"How\s", text):
        text = text[4:]
        if re.match(r"to\s", text):
            return ""  # "How to conduct UX research ...": a topic, not a claim
        return capitalize_first(text) + "." if realizer.tagger is None or realizer.generality(text) >= 0 else ""
    if not text or realizer.tagger is None:
        return ""
    if not realizer.has_finite_verb(text) or realizer.tags(text)[0][1] == "VB":
        claim = realizer.relative_as_claim(text)  # "Ordinances that decide what a city shares."
        return capitalize_first(claim) + "." if claim and realizer.has_finite_verb(claim) else ""
    return capitalize_first(text) + "."


def key_findings(context: BriefContext) -> str:
    """One paragraph per theme: one claim about the theme as a whole, then two claims that support it,
    without copying its bullets.

    A theme opens on its codebook description when that reads as a claim (:func:`as_finding`), then says how
    far it ran and what its bullets cover (:func:`theme_overview`). A strategic direction opens on what
    participants called for (:func:`direction_calls`), else on its description as a claim, else on the claim
    its notes share most widely, then says how far it ran. Both follow with up to two of the theme's most
    widely shared claims that no bullet says (:func:`theme_claims`), each attributed to the roles and sessions
    that made it."""
    realizer = context.realizer()
    titles = context.resource_titles()
    paragraphs = []
    for theme in major_themes(context):
        synthesis = context.synthesis(theme)
        if not synthesis.bullets:
            continue
        action = theme.section == "Strategic Directions"
        finding, support = theme_finding(context, theme, general=action)
        notes = [n for n in theme.all_notes() if n.kind not in ("question", "quote", "resource")]
        framing = as_finding(synthesis.framing, realizer) if synthesis.framing else ""
        sources: list[NoteItem] = []
        if action:
            calls, askers = direction_calls(synthesis.space.notes, synthesis.space, context.hidden_words, realizer,
                                            synthesis.bullets + ([synthesis.disagreement] if synthesis.disagreement
                                                                 else []))
            if calls:  # a direction's claim: what participants called for, over roles and sessions
                who = attribution(askers) + across_sessions(askers)
                text = [note_markdown(f"{capitalize_first(who)} called for {join_words(calls)}.", titles)]
                sources += askers
            elif framing:
                text = [escape_md(framing)]
                support = support or ([finding] if finding else [])
            elif finding:
                who = attribution(finding[1]) + across_sessions(finding[1])  # those who shared the finding
                text = [note_markdown(realizer.topic_sentence(finding[0], who, "described", action), titles)]
                sources += finding[1]
            else:
                text = []
            sessions = len({n.session_number for n in notes})
            if not text or (len(synthesis.bullets) >= 2 and sessions > 1):  # how far it ran, never its headings
                text.append(f"The direction came up in {sessions_phrase(sessions, len(context.sessions))}, among "
                            f"{escape_md(attribution(notes, limit=2))}.")  # roles are typed text
        else:
            text = [escape_md(framing)] if framing else []
            overview, covered = theme_overview(context, theme, notes)
            text.append(overview)
            sources += covered
        for claim, members in support:
            who = attribution(members) + across_sessions(members)
            verb = "reported" if re.search(r"\d", claim) else "recommended" if action and re.search(
                r"\b(?:should|must|need|needs|ought)\b", claim) else "described"
            text.append(note_markdown(realizer.topic_sentence(claim, who, verb, action), titles))
            sources += members
        sources = sources or [n for n in notes if any(n.id in b.note_ids for b in synthesis.bullets)]
        cited = Bullet(f"kf-{theme.id}", theme.name, "", sorted({n.id for n in sources}),
                       sorted({n.session_number for n in sources}))
        body = re.sub(r"([?!])\.(?=\s|$)", r"\1", " ".join(t for t in text if t))
        paragraphs.append(f"{context.cite(cited)} {body}")
    return "\n\n".join(paragraphs)


def strategic_implications(context: BriefContext) -> str:
    """Two paragraphs that argue: what the findings mean together (the themes' findings joined, how
    widely they ran, where participants differed), then what follows for cities and funders
    (:func:`what_follows`)."""
    themes = [t for t in major_themes(context) if t.section != "Strategic Directions"]
    directions = [t for t in major_themes(context) if t.section == "Strategic Directions"]
    if not themes and not directions:
        return ""
    realizer = context.realizer()
    sessions = len(context.sessions)
    first = ["Taken together, the findings describe pressures that no single institution can answer alone."]
    findings = [f for f in (as_finding(context.synthesis(t).framing, realizer) for t in themes) if f]
    if len(findings) >= 2:
        first.append(f"{findings[0][:-1]}, while {findings[1][:-1]}." if realizer.embeddable(findings[1])
                     else f"{findings[0]} {findings[1]}")
    recurring = [t for t in themes if context.synthesis(t).session_count == sessions and sessions > 1]
    if recurring:
        first.append(
            f"{capitalize_first(number_word(len(recurring)))} of the {number_word(len(themes))} themes came up in "
            "every session, so the response has to be sustained rather than a single emergency measure."
            if len(recurring) > 1 else
            "One theme came up in every session, so the response has to be sustained rather than a single "
            "emergency measure.")
    disputed = [t for t in themes + directions if context.synthesis(t).disagreement]
    if disputed:
        first.append("Participants did not always agree, and where they differed the report keeps the "
                     "positions side by side rather than averaging them away.")
    second = [what_follows(context, themes, directions)]
    return f"{' '.join(first)}\n\n{' '.join(second)}"


ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def as_move(text: str, realizer: Realizer) -> str:
    """An order of the codebook (authored text) as a move a city or funder makes, its verbs in -ing:
    "Rebuild trust and shape public understanding." -> "rebuilding trust and shaping public understanding";
    "" when ``text`` is no order. Only the order's own verbs change ("Limit what cities collect and share"
    keeps "share"): the first word and, with spaCy's parse, the verbs joined to it."""
    text = " ".join(text.split()).rstrip(".")
    words = text.split(" ")
    if len(words) < 2:
        return ""
    if realizer.tagger is None:
        if words[0].lower() not in _ACTION_VERBS:
            return ""
        spans = [(0, len(words[0]))] + [(m.start(1), m.end(1)) for m in re.finditer(r"\band (\w+)", text)
                                        if m.group(1) in _ACTION_VERBS]
    else:
        if not realizer.is_order(text):
            return ""
        doc = realizer._doc(text)
        # the order's verb and the verbs joined to it; the small model sometimes hangs a joined verb on a noun
        # ("Fund retrofits before summer and publish the schedule"), never on a verb of a clause inside it
        spans = [(doc[0].idx, doc[0].idx + len(doc[0]))] + [
            (t.idx, t.idx + len(t)) for t in doc[1:] if t.tag_ == "VB" and t.dep_ == "conj" and t.text.islower()
            and (t.head.i == 0 or t.head.pos_ not in ("VERB", "AUX"))]
    out, last = [], 0
    for begin, end in sorted(spans):
        out += [text[last:begin], gerund(text[begin:end].lower())]
        last = end
    return "".join(out) + text[last:]


def what_follows(context: BriefContext, themes: list[ThemeItem], directions: list[ThemeItem]) -> str:
    """Strategic Implications' second paragraph, in Markdown: the strategic directions as the moves the notes
    point to (:func:`as_move` of each direction's description, else of its name, else its name as a phrase),
    then which theme each answers: the theme whose codebook names and bullets' lead-ins share the most words
    (their first five letters) with the direction's."""
    realizer = context.realizer()
    moves: list[tuple[ThemeItem, str]] = []
    for d in directions:
        move = as_move(d.description or "", realizer) or as_move(d.name, realizer)
        if not move and len(d.name.split()) >= 2:
            move = codebook_phrase(d.name, realizer)
        if move:
            moves.append((d, move))
    if not moves:
        return ("For cities and funders, the priority is to sustain what works, share it across places, "
                "and protect the people doing the work.")
    listed = moves[0][1] if len(moves) == 1 else "; ".join(m for _, m in moves[:-1]) + f"; and {moves[-1][1]}"
    count = "one move" if len(moves) == 1 else f"{number_word(len(moves))} moves"
    # a dash, not a colon: what follows a colon reads as a list of fragments, each move without its subject
    out = [escape_md(f"For cities and funders the notes point to {count} — {listed}.")]

    def stems(theme: ThemeItem, own: bool) -> set[str]:
        words = [theme.name, theme.description or ""] + [b.lead_in for b in context.synthesis(theme).bullets]
        return idea_stems(" ".join(words + ([c.name for c in theme.children] if own else [])))

    answered: dict[int, list[int]] = {}
    for k, (d, _) in enumerate(moves):
        wanted = stems(d, False)
        overlap = [len(wanted & stems(t, True)) for t in themes]
        if overlap and max(overlap) > 0:
            answered.setdefault(overlap.index(max(overlap)), []).append(k)
    if answered and len(moves) > 1:
        parts = []
        for i in sorted(answered):
            which = [ORDINALS[k] if k < len(ORDINALS) else f"move {k + 1}" for k in answered[i]]
            which = which[0] if len(which) == 1 else ", ".join(which[:-1]) + " and " + which[-1]
            parts.append(f"“{themes[i].name}” (the {which})")  # the theme's heading, quoted as the report titles it
        out.append(escape_md(f"Between them they answer {join_words(parts)}."))
    return " ".join(out)

