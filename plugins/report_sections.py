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
from roundtable.services.briefs.findings import key_findings, major_themes, strategic_implications
from roundtable.services.briefs.markdown import escape_md, md_link, short_address
from roundtable.services.briefs.prose import article, capitalize_first, join_words, normalize_role, pluralize
from roundtable.services.briefs.resources import OTHER_LINKS, collect_resources
from roundtable.services.briefs.synthesis import question_topics

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
    themes = major_themes(context)
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
