"""The default sections of the "report" (policy report) and "brief" (research brief) templates.

They follow ``docs/brief-anatomy.md``: Executive Summary, Key Findings,
Strategic Implications, Introduction, Key Themes, Strategic Directions,
Unanswered Questions, Resources and Partners, Acknowledgments, and a methods
appendix for the report; Overview, Key Findings, Strategic Implications and
Resources for the short brief. A plugin replaces one by registering a
section with the same key, or adds one with a new key and an ``order``.
"""

from __future__ import annotations

import re

from roundtable import BriefSection, hookimpl
from roundtable.services.briefs.context import BriefContext, ThemeItem
from roundtable.services.briefs.markdown import escape_md, md_link, note_markdown, short_address
from roundtable.services.briefs.prose import (
    across_sessions,
    article,
    as_sentence,
    attribution,
    capitalize_first,
    join_words,
    normalize_role,
    number_word,
    pluralize,
)
from roundtable.services.briefs.resources import OTHER_LINKS, collect_resources
from roundtable.services.briefs.synthesis import Bullet, question_topics

POLICY_TEXT = {
    "role": "every name was replaced, as it was typed, by the speaker's role (for example, "
    "“a legal advocate”)",
    "pseudonym": "every name was replaced, as it was typed, by a stable pseudonym",
    "redact": "every name was removed, as it was typed",
}


def _count(n: int, word: str) -> str:
    return f"{n:,} {word if n == 1 else pluralize(word)}"


def _roles_phrase(context: BriefContext, limit: int = 4) -> str:
    """The roster's roles as Markdown ("a scholar and municipal leaders"): a role is typed text."""
    roles = [(r, c) for r, c in context.participant_roles.most_common() if r != "participant"]
    return escape_md(join_words([pluralize(r) if c > 1 else article(r) for r, c in roles[:limit]]))


def _major_themes(context: BriefContext) -> list[ThemeItem]:
    return [t for t in context.themes if t.all_notes()]


def _people(context: BriefContext) -> str:
    """The series' participant count (a series field; the roster when it is not set)."""
    return _count(context.participant_count, "participant")


# --------------------------------------------------------------------------- front sections


def executive_summary(context: BriefContext) -> str:
    sessions = len(context.sessions)
    period = f"From {context.period}, " if context.period else ""
    who = _roles_phrase(context)
    first = (
        f"{period}{escape_md(context.title)} convened {_count(sessions, 'invite-only session')} "
        f"that brought together {_people(context)}"
        + (f", among them {who}" if who else "")
        + ". The sessions were not recorded, to protect the identities and safety of speakers."
    )
    themes = _major_themes(context)
    key = [t for t in themes if t.section != "Strategic Directions"]
    directions = [t for t in themes if t.section == "Strategic Directions"]
    scope = []
    if key:
        scope.append(f"{_count(len(key), 'theme')} ({escape_md('; '.join(t.name for t in key))})")
    if directions:
        scope.append(f"{_count(len(directions), 'strategic direction')} "
                     f"({escape_md('; '.join(t.name for t in directions))})")
    second = (
        f"Note-takers kept {_count(len(context.notes), 'anonymized note')} across the series. "
        f"This {'report' if context.template == 'report' else 'brief'} synthesizes them into "
        f"{join_words(scope) or 'the questions the group set itself'}. "
        "Every point is attributed, at most, to a role."
    )
    audience = context.description.strip() or (
        "It is written for the municipal leaders, advocates, researchers and community organizers "
        "who carry this work forward."
    )
    return f"{first}\n\n{second}\n\n{escape_md(audience)}"


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
    to the roles and sessions that shared it (:func:`~roundtable.services.briefs.synthesis.theme_claims`);
    the roles and sessions that raised the theme; one concrete claim from another of its points. When
    every claim of the theme is already written in a bullet, the paragraph says how far the theme ran.
    A strategic direction opens on what participants called for (``synthesis.calls``)."""
    realizer = context.realizer()
    titles = context.resource_titles()
    paragraphs = []
    for theme in _major_themes(context):
        synthesis = context.synthesis(theme)
        if not synthesis.bullets:
            continue
        finding, support = synthesis.finding, synthesis.support
        notes = [n for n in theme.all_notes() if n.kind not in ("question", "quote", "resource")]
        action = theme.section == "Strategic Directions"
        framing = as_finding(synthesis.framing, realizer) if synthesis.framing else ""
        shown = support
        calls, askers = synthesis.calls
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
    themes = [t for t in _major_themes(context) if t.section != "Strategic Directions"]
    directions = [t for t in _major_themes(context) if t.section == "Strategic Directions"]
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


def introduction(context: BriefContext) -> str:
    parts = []
    if context.description.strip():
        parts.append(escape_md(context.description.strip()))
    period = f" from {context.period}" if context.period else ""
    parts.append(
        f"The series met in {_count(len(context.sessions), 'invite-only online session')}{period}. "
        "To protect the identities and safety of speakers, the sessions were not recorded; "
        "note-takers kept collaborative notes, anonymized as they were written, from which this "
        "report was synthesized."
    )
    lines = []
    for s in context.sessions:
        when = f" ({s.month})" if s.month else ""
        focus = escape_md(s.focus or s.title or "open discussion")
        lines.append(f"- **Session {s.number}{when}:** {focus}")
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- themes


def render_theme(context: BriefContext, theme: ThemeItem) -> str:
    synthesis = context.synthesis(theme)
    if not synthesis.bullets:
        return ""
    out = [f"### {escape_md(theme.name)}", ""]
    out.append("{.evidence}")
    out.append(
        f"Drawn from {_count(synthesis.note_count, 'note')} across "
        f"{_count(synthesis.session_count, 'session')}"
    )
    out.append("")
    if synthesis.framing:
        out += [escape_md(synthesis.framing), ""]
    bullets = list(synthesis.bullets)
    if synthesis.disagreement:
        bullets.append(synthesis.disagreement)
    for b in bullets:
        out.append(f"- {context.cite(b)} {b.text}")
    out.append("")
    for q in synthesis.quotes:
        out += ["::: callout", f"> “{escape_md(q.text)}”", ">", f"> — {escape_md(q.role)}", ":::", ""]
    return "\n".join(out)


def theme_section(key: str, title: str, order: int, templates=("report",), takes_unclaimed=False):
    """A section listing the codebook's top-level themes filed under ``title``."""

    def render(context: BriefContext) -> str:
        themes = [
            t for t in context.themes
            if t.section == title or (takes_unclaimed and t.section not in context.section_titles)
        ]
        return "\n".join(filter(None, (render_theme(context, t) for t in themes)))

    return BriefSection(key, title, order, tuple(templates), render)


# --------------------------------------------------------------------------- back matter


def unanswered_questions(context: BriefContext) -> str:
    """Open questions by topic; a series without question notes says so (the section stays in its place)."""
    bullets = question_topics(context)
    if not bullets:
        return "No open questions were recorded as such in the notes of this series."
    return "\n".join(f"- {context.cite(b)} {b.text}" for b in bullets)


def resources(context: BriefContext) -> str:
    """Every link, once, under the anatomy's headings: bold name, one sentence, the address."""
    grouped = collect_resources(context)
    if not grouped:
        return "No links or documents were shared in the notes of this series."
    out = []
    for category, items in grouped.items():
        out += [f"### {escape_md(category)}", ""]
        for r in items:
            out.append(f"- **{escape_md(r.title)}**: {escape_md(r.description)} {md_link(r.url, r.url)}")
        out.append("")
    return "\n".join(out)


def resources_brief(context: BriefContext) -> str:
    """The short brief's resources: one item per heading, under it one line per link, named, without
    descriptions, the address shown without its scheme (a list, so that print can set it in two columns)."""
    items = []
    for category, group in collect_resources(context).items():
        items.append(f"- **{escape_md(category)}**")
        items += [f"  - {escape_md(r.title)}: {md_link(short_address(r.url), r.url)}" for r in group]
    return "\n".join(items)


def acknowledgments(context: BriefContext) -> str:
    """The series' own acknowledgments (its coordinating team and editors, as it names them; anyone
    who declined to be named is taken out when the context is gathered), then thanks without names."""
    parts = []
    own = context.acknowledgments.strip()
    if own:
        parts.append(own)
    if not re.search(r"\bthank", own, re.I):
        roles = _roles_phrase(context, limit=3)
        parts.append(
            "We thank the panelists, facilitators and participants of the series"
            + (f", among them {roles}," if roles else "")
            + " who shared their expertise and experience with candor. "
            "They are not named here, by design."
        )
    return "\n\n".join(parts)


def methods(context: BriefContext) -> str:
    """How the report was made, stating only what happened in this build."""
    out = [
        f"This report was synthesized from {_count(len(context.notes), 'note')}"
        + (f" kept by {_count(context.note_taker_count, 'note-taker')}" if context.note_taker_count else "")
        + f" across {_count(len(context.sessions), 'session')} with {_people(context)}.",
        "",
        "**Codebook.** Notes were coded with these themes (sub-themes in parentheses):",
        "",
    ]
    for t in context.themes:
        kids = f" ({escape_md(', '.join(c.name for c in t.children))})" if t.children else ""
        out.append(f"- {escape_md(t.name)}{kids}, under {escape_md(t.section)}: {_count(len(t.all_notes()), 'note')}")
    out.append("")
    tagging = []
    for source, counts in sorted(context.tag_sources.items()):
        accepted = counts.get("accepted", 0)
        rejected = counts.get("rejected", 0)
        if source == "manual":
            tagging.append(f"{_count(accepted, 'tag')} applied by hand")
        else:
            decided = accepted + rejected
            rate = f", {accepted / decided:.0%} of those reviewed accepted" if decided else ""
            tagging.append(
                f"{_count(sum(counts.values()), 'suggestion')} from the “{escape_md(source)}” suggester{rate}"
            )
    if tagging:
        out += [
            "**Tagging.** " + capitalize_first(join_words(tagging)) + ". Only tags applied by hand or "
            "accepted by a person were used.",
            "",
        ]
    grouping = ("sentence embeddings (all-MiniLM-L6-v2)" if context.options.get("encoder") == "minilm"
                else "TF-IDF word vectors")
    phrases = ("noun phrases found by spaCy" if context.options.get("phrases") == "spacy"
               else "the phrases its notes share")
    reviewed = sorted(k for k, v in (context.options.get("section_status") or {}).items() if v == "reviewed")
    out += [
        "**Synthesis.** Each sub-theme became one bullet; themes without sub-themes were split into groups "
        f"of similar notes by {grouping}, each named by {phrases}. Note-taker shorthand was written out, "
        "near-duplicate notes merged, and every statement attributed to roles only.",
        "",
        (f"**Review.** The authors reviewed {_count(len(reviewed), 'section')} of this report." if reviewed else
         "**Review.** The text was drafted automatically from the notes; sections the authors have not "
         "reviewed are marked as drafts."),
        "",
        "**Anonymization.** " + capitalize_first(POLICY_TEXT.get(context.policy, "names were replaced as they were typed"))
        + ". An export check confirmed that no participant's name appears in this document "
        "outside the credits of those who agreed to be named.",
        "",
    ]
    software = plugins_that_ran(context)
    if software:
        out += [f"**Software.** Built with Roundtable and the plugins {join_words(software)}.", ""]
    return "\n".join(out)


def plugins_that_ran(context: BriefContext) -> list[str]:
    """The plugins whose work is in this report: those that gave its sections and the name detectors the
    export check ran (working ones only). Suggesters are named in the tagging paragraph, by suggester."""
    out = []
    for p in context.plugins:
        hooks = set(p.get("hooks") or ())
        if "register_brief_sections" in hooks or ("register_detectors" in hooks and p.get("status") is None):
            out.append(f"{escape_md(p['name'])} {escape_md(str(p['version']))}" if p.get("version")
                       else escape_md(p["name"]))
    return out


DEFAULT_SECTIONS = [
    BriefSection("executive-summary", "Executive Summary", 10, ("report",), executive_summary),
    BriefSection("overview", "Overview", 10, ("brief",), executive_summary),
    BriefSection("key-findings", "Key Findings", 20, ("report", "brief"), key_findings),
    BriefSection("strategic-implications", "Strategic Implications", 30, ("report", "brief"),
                 strategic_implications),
    BriefSection("introduction", "Introduction", 40, ("report",), introduction),
    theme_section("key-themes", "Key Themes", 50, takes_unclaimed=True),
    theme_section("strategic-directions", "Strategic Directions", 60),
    BriefSection("unanswered-questions", "Unanswered Questions and Future Directions", 70, ("report",),
                 unanswered_questions),
    BriefSection("resources", "Resources and Partners", 80, ("report",), resources),
    BriefSection("resources-brief", "Resources", 80, ("brief",), resources_brief),
    BriefSection("acknowledgments", "Acknowledgments", 90, ("report",), acknowledgments),
    BriefSection("methods", "How This Report Was Made", 100, ("report",), methods,
                 classes=("appendix",)),
]


@hookimpl
def register_brief_sections(register):
    for section in DEFAULT_SECTIONS:
        register(section)


__all__ = ["DEFAULT_SECTIONS", "OTHER_LINKS", "normalize_role", "register_brief_sections", "theme_section"]
