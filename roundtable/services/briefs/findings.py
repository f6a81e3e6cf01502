"""Key Findings and Strategic Implications: what a series' themes say together, in words of their own.

A theme's Key Finding is chosen from its notes (:func:`theme_claims`), a strategic direction's from what
its action notes ask for (:func:`direction_calls`); neither repeats six words running of a bullet
(:func:`word_runs`). :func:`key_findings` and :func:`strategic_implications` render the two sections
(registered by ``roundtable_plugins.report_sections``). Deterministic and offline.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from roundtable.services.briefs.markdown import escape_md, note_markdown
from roundtable.services.briefs.prose import (
    across_sessions,
    attribution,
    capitalize_first,
    join_words,
    normalize_role,
    number_word,
    pluralize,
    stop_words,
)
from roundtable.services.briefs.realize import Realizer, a_or_an
from roundtable.services.briefs.synthesis import (
    _VAGUE_HEADS,
    _WORD_RE,
    Bullet,
    TextSpace,
    _chunk_topic,
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
                 directions: bool = False, idea: str = "") -> tuple[tuple[str, list[NoteItem]] | None,
                                                                     list[tuple[str, list[NoteItem]]]]:
    """The theme's finding (None when no claim reads as one), and up to one concrete claim that supports
    it, in words no bullet uses.

    The finding is what most of the theme's notes say: among its most central notes, a claim that reads
    as a finding (a present-tense statement without figures, names or links: :data:`GENERAL`), the one
    that names the theme's ``idea`` (a word of its name, description or sub-themes) and whose point is
    shared most widely (by notes in the most bullets, sessions and roles); it stands for every note that makes its point,
    so its attribution runs over their roles and sessions. A claim that repeats six words running of a
    bullet is never used: Key Findings generalise across the theme rather than copy its bullets. The
    support is a claim from another of the theme's points that may stand mid-sentence as typed (never an
    order outside ``directions``), with a figure and a finite verb when one has them. Outside ``directions`` both
    come from points, not actions, when the theme has any.
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
        written |= word_runs(bullet.text)
    group_of = {i: k for k, bullet in enumerate(bullets or []) for i in bullet.note_ids}
    stems = idea_stems(idea)

    candidates: list[tuple[int, str]] = []
    for i in central_order(rows)[:FINDING_NOTES]:
        note = plain[i]
        claim = compress(note.prose or note.text)
        if not claim or mentions(claim, hidden):
            continue
        text = realizer.clause(claim, pluralize(normalize_role(note.speaker_role)))
        if text and not word_runs(text) & written and all(text != t for _, t in candidates):
            candidates.append((i, text))
    if not candidates:
        return None, []

    def sharers(i: int) -> list[NoteItem]:
        return [plain[j] for j in np.flatnonzero(similar[i])]

    def reach(i: int) -> tuple[int, int, int]:
        group = sharers(i)
        return (len({group_of.get(n.id) for n in group}), len({n.session_number for n in group}),
                len({normalize_role(n.speaker_role) for n in group}))

    # a finding states a generalisation: the most general claim, the most widely shared among equals;
    # a figure or a named place is support, not the finding (read aloud on the demo: tuning)
    general = GENERAL if realizer.tagger is not None else GENERAL - 1  # the word lists score one less
    ranked = sorted((k for k in range(len(candidates)) if realizer.generality(candidates[k][1]) >= general),
                    key=lambda k: (not idea_stems(candidates[k][1]) & stems, realizer.rough(candidates[k][1]),
                                   tuple(-r for r in reach(candidates[k][0])), k))
    finding = None
    if ranked:
        i, text = candidates[ranked[0]]
        finding = (text, [plain[i]] + [n for n in sharers(i) if n.id != plain[i].id])
    used = {n.id for n in finding[1]} if finding else set()
    rest = [(j, t) for j, t in candidates if plain[j].id not in used]
    if finding:
        rest = [(j, t) for j, t in rest if group_of.get(plain[j].id) != group_of.get(finding[1][0].id)] or rest
    # support is concrete (a figure) and a whole clause the realizer could shape (typed in lower case)
    # a claim whose first word keeps a capital it was typed with ("Biggest surprise ...", "Track outcomes
    # ...") is one the realizer could not shape (it never changes a word's case): not support
    rest = [(j, t) for j, t in rest if realizer.embeddable(t) and (directions or not realizer.is_order(t))]
    # a claim keeping note grammar the realizer leaves alone comes last (read on the demo's Key Findings: tuning)
    support = min(rest, key=lambda c: (realizer.rough(c[1]), not re.search(r"\d", c[1]),
                                       not realizer.has_finite_verb(c[1])), default=None)
    return finding, ([(support[1], [plain[support[0]]])] if support else [])


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
        written |= word_runs(bullet.text)
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


def theme_finding(context: BriefContext, theme: ThemeItem):
    """The theme's finding and support (:func:`theme_claims`) over the notes its synthesis grouped."""
    synthesis = context.synthesis(theme)
    space = synthesis.space
    written = synthesis.bullets + ([synthesis.disagreement] if synthesis.disagreement else [])
    idea = " ".join([theme.name, theme.description or ""] + [c.name for c in theme.children])
    return theme_claims(space.notes, space, context.hidden_words, context.realizer(), written,
                        theme.section == "Strategic Directions", idea)


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
    """One paragraph per theme that states its finding once, then says how far it ran, without copying
    its bullets: the theme's framing as a claim, else the claim its notes share most widely, attributed
    to the roles and sessions that shared it (:func:`theme_claims`); the roles and sessions that raised
    the theme; one concrete claim from another of its points. When every claim of the theme is already
    written in a bullet, the paragraph says how far the theme ran. A strategic direction opens on what
    participants called for (:func:`direction_calls`)."""
    realizer = context.realizer()
    titles = context.resource_titles()
    paragraphs = []
    for theme in major_themes(context):
        synthesis = context.synthesis(theme)
        if not synthesis.bullets:
            continue
        finding, support = theme_finding(context, theme)
        notes = [n for n in theme.all_notes() if n.kind not in ("question", "quote", "resource")]
        action = theme.section == "Strategic Directions"
        framing = as_finding(synthesis.framing, realizer) if synthesis.framing else ""
        shown = support
        calls, askers = direction_calls(synthesis.space.notes, synthesis.space, context.hidden_words, realizer,
                                        synthesis.bullets + ([synthesis.disagreement] if synthesis.disagreement
                                                             else [])) if action else ([], [])
        if action and calls:  # a direction's claim: what participants called for, over roles and sessions
            who = attribution(askers) + across_sessions(askers)
            text = [note_markdown(f"{capitalize_first(who)} called for {join_words(calls)}.", titles)]
            framing = ""
            finding = (text[0], askers)
        elif framing:
            text = [escape_md(framing)]
            shown = support or ([finding] if finding else [])
        elif finding:
            who = attribution(finding[1]) + across_sessions(finding[1])  # those who shared the finding
            text = [note_markdown(realizer.topic_sentence(finding[0], who, "described", action), titles)]
        else:
            text = []
        sessions = len({n.session_number for n in notes})
        everyone = escape_md(attribution(notes, limit=2))  # roles are typed text
        subject = "The direction" if action else "The theme"
        across = (f"all {number_word(sessions)} sessions" if sessions == len(context.sessions) and sessions > 1
                  else f"{number_word(sessions)} of the {number_word(len(context.sessions))} sessions"
                  if sessions > 1 else "one session")
        if not text or (len(synthesis.bullets) >= 2 and sessions > 1):  # how far it ran, never its headings
            text.append(f"{subject} came up in {across}, among {everyone}.")
        text += [note_markdown(s, titles) for s in realizer.support([c for c, _ in shown])]
        sources = [n for _, members in ([finding] if finding and not framing else []) + shown for n in members] or [
            n for n in notes if any(n.id in b.note_ids for b in synthesis.bullets)]
        claim = Bullet(f"kf-{theme.id}", theme.name, "", sorted({n.id for n in sources}),
                       sorted({n.session_number for n in sources}))
        body = re.sub(r"([?!])\.(?=\s|$)", r"\1", " ".join(t for t in text if t))
        paragraphs.append(f"{context.cite(claim)} {body}")
    return "\n\n".join(paragraphs)


def strategic_implications(context: BriefContext) -> str:
    """Two paragraphs that argue: what the findings mean together (the themes' findings joined, how
    widely they ran, where participants differed), then what follows for cities and funders."""
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
    second = []
    if directions:
        # a direction's description is listed when it is a sentence (an order or a claim), not a phrase
        framings = [f for f in (context.synthesis(t).framing for t in directions) if f and (
            realizer.tagger is None or realizer.has_finite_verb(f) or realizer.tags(f)[0][1] == "VB"
            or realizer.is_order(f))]
        second.append(f"For cities and funders, {number_word(len(directions))} directions follow from these "
                      "findings." if len(directions) > 1 else "For cities and funders, one direction follows.")
        second += [escape_md(f) for f in framings]
        second.append("Each depends on trust between cities, legal organizations and communities, "
                      "and on sharing what works.")
    else:
        second.append("For cities and funders, the priority is to sustain what works, share it across places, "
                      "and protect the people doing the work.")
    return f"{' '.join(first)}\n\n{' '.join(second)}"
