"""The default sections of the "report" (policy report) and "brief" (research brief) templates.

They follow ``docs/brief-anatomy.md``: Executive Summary, Key Findings,
Strategic Implications, Introduction, Key Themes, Strategic Directions,
Unanswered Questions, Resources and Partners, Acknowledgments, and a methods
appendix for the report; Overview, Key Findings, Strategic Implications and
Resources for the short brief. A plugin replaces one by registering a
section with the same key, or adds one with a new key and an ``order``.
"""

from __future__ import annotations

from roundtable import hookimpl
from roundtable.services.briefs.build import BriefSection
from roundtable.services.briefs.context import BriefContext, ThemeItem
from roundtable.services.briefs.markdown import escape_md, md_link, url_label
from roundtable.services.briefs.prose import article, join_words, normalize_role, pluralize
from roundtable.services.briefs.resources import OTHER_LINKS, collect_resources
from roundtable.services.briefs.synthesis import Bullet, question_topics

POLICY_TEXT = {
    "role": "every name was replaced, as it was typed, by the speaker's role (for example, "
    "“a legal advocate”)",
    "pseudonym": "every name was replaced, as it was typed, by a stable pseudonym",
    "redact": "every name was removed, as it was typed",
}


def _draft(body: str) -> str:
    """Wrap generated prose the author must rewrite in a visible draft container."""
    return f"::: draft\n{body.strip()}\n:::\n"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word if n == 1 else pluralize(word)}"


def _roles_phrase(context: BriefContext, limit: int = 4) -> str:
    roles = [(r, c) for r, c in context.participant_roles.most_common() if r != "participant"]
    return join_words([pluralize(r) if c > 1 else article(r) for r, c in roles[:limit]])


def _major_themes(context: BriefContext, limit: int = 7) -> list[ThemeItem]:
    themes = [t for t in context.themes if t.all_notes()]
    return themes[:limit]


# --------------------------------------------------------------------------- front sections


def executive_summary(context: BriefContext) -> str:
    sessions = len(context.sessions)
    period = f"From {context.period}, " if context.period else ""
    who = _roles_phrase(context)
    people = (
        f"more than {context.participant_count // 10 * 10} participants"
        if context.participant_count >= 20
        else _count(context.participant_count, "participant")
    )
    first = (
        f"{period}{escape_md(context.title)} convened {_count(sessions, 'invite-only session')} "
        f"that brought together {people}"
        + (f", among them {who}" if who else "")
        + ". The sessions were not recorded, to protect the identities and safety of speakers."
    )
    themes = _major_themes(context)
    names = join_words([t.name.lower() for t in themes]) or "the questions the group set itself"
    second = (
        f"Note-takers kept {_count(len(context.notes), 'anonymized note')} across the series. "
        f"This {'report' if context.template == 'report' else 'brief'} synthesizes them into "
        f"{_count(len(themes), 'theme')}: {escape_md(names)}. "
        "Every point is attributed, at most, to a role."
    )
    audience = context.description.strip() or (
        "It is written for the municipal leaders, advocates, researchers and community organizers "
        "who carry this work forward."
    )
    return _draft(f"{first}\n\n{second}\n\n{escape_md(audience)}")


def key_findings(context: BriefContext) -> str:
    paragraphs = []
    for theme in _major_themes(context):
        synthesis = context.synthesis(theme)
        if not synthesis.bullets:
            continue
        lead = synthesis.bullets[0]
        claim = Bullet(f"kf-{theme.id}", theme.name, lead.text.split(". ")[0].rstrip(".") + ".",
                       lead.note_ids, lead.sessions)
        topics = [b.lead_in.rstrip(":").lower() for b in synthesis.bullets[1:4]]
        support = []
        if topics:
            support.append(f"Participants also addressed {escape_md(join_words(topics))}.")
        support.append(
            f"The finding draws on {_count(synthesis.note_count, 'note')} from "
            f"{_count(synthesis.session_count, 'session')}."
        )
        if synthesis.disagreement:
            support.append("Participants did not all agree; the theme below sets out where they differed.")
        paragraphs.append(f"{context.cite(claim)} {claim.text} {' '.join(support)}")
    if not paragraphs:
        return ""
    return _draft("\n\n".join(paragraphs))


def strategic_implications(context: BriefContext) -> str:
    key = [t.name.lower() for t in context.themes_in_section("Key Themes") if t.all_notes()]
    directions = [t.name.lower() for t in context.themes_in_section("Strategic Directions") if t.all_notes()]
    first = (
        f"Taken together, the findings on {escape_md(join_words(key))} describe pressures that no "
        "single institution can answer alone."
        if key
        else "Taken together, the findings describe pressures that no single institution can answer alone."
    )
    second = (
        f"Participants pointed to concrete directions: {escape_md(join_words(directions))}. "
        "Each depends on trust between the people in these sessions and on sharing what works."
        if directions
        else "Participants pointed to concrete directions, each depending on trust and on sharing what works."
    )
    return _draft(f"{first}\n\n{second}")


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
    bullets = question_topics(context)
    return "\n".join(f"- {context.cite(b)} {b.text}" for b in bullets)


def resources(context: BriefContext) -> str:
    out = []
    for category, items in collect_resources(context).items():
        out += [f"### {escape_md(category)}", ""]
        for r in items:
            name = escape_md(r.title or url_label(r.url))
            description = r.description.strip()
            if not description:
                description = "Mentioned during the series"
            description = escape_md(description if description.endswith((".", "?", "!", "…")) else description + ".")
            out.append(f"- **{name}**: {description} {md_link(r.url, r.url)}")
        out.append("")
    return "\n".join(out)


def acknowledgments(context: BriefContext) -> str:
    parts = []
    if context.acknowledgments.strip():
        parts.append(context.acknowledgments.strip())
    roles = _roles_phrase(context, limit=3)
    parts.append(
        "We thank the panelists, facilitators and participants of the series"
        + (f", among them {roles}," if roles else "")
        + " who shared their expertise and experience with candor. "
        "They are not named here, by design."
    )
    return "\n\n".join(parts)


def methods(context: BriefContext) -> str:
    out = [
        f"This report was synthesized from {_count(len(context.notes), 'note')}"
        + (f" kept by {_count(context.note_taker_count, 'note-taker')}" if context.note_taker_count else "")
        + f" across "
        f"{_count(len(context.sessions), 'session')} with {_count(context.participant_count, 'participant')}.",
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
            "**Tagging.** " + capitalize(join_words(tagging)) + ". Only tags applied by hand or "
            "accepted by a person were used.",
            "",
        ]
    out += [
        "**Synthesis.** For each theme and sub-theme, the most central notes (by TF-IDF "
        "similarity) were chosen, near-duplicates merged, and statements attributed to roles "
        "only. Themes without sub-themes were grouped by similarity. The Executive Summary and "
        "Key Findings were drafted automatically and rewritten by the authors.",
        "",
        "**Anonymization.** " + capitalize(POLICY_TEXT.get(context.policy, "names were replaced as they were typed"))
        + ". An export check confirmed that no participant's name appears in this document "
        "outside the credits of those who agreed to be named.",
        "",
    ]
    if context.plugins:
        plugins = [
            f"{escape_md(p['name'])} {escape_md(str(p['version']))}" if p.get("version") else escape_md(p["name"])
            for p in context.plugins
        ]
        out += [f"**Software.** Built with Roundtable and the plugins {join_words(plugins)}.", ""]
    return "\n".join(out)


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


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
    BriefSection("resources-brief", "Resources", 80, ("brief",), resources),
    BriefSection("acknowledgments", "Acknowledgments", 90, ("report",), acknowledgments),
    BriefSection("methods", "How This Report Was Made", 100, ("report",), methods,
                 classes=("appendix",)),
]


@hookimpl
def register_brief_sections(register):
    for section in DEFAULT_SECTIONS:
        register(section)


__all__ = ["DEFAULT_SECTIONS", "OTHER_LINKS", "normalize_role", "register_brief_sections", "theme_section"]
