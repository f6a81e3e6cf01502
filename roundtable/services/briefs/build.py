"""Building a brief: the template's sections, rendered from a context, joined with front matter."""

from __future__ import annotations

from roundtable.errors import ValidationError
from roundtable.plugins import describe_plugins
from roundtable.services.briefs.context import TEMPLATE_LABELS, BriefContext, gather_brief_context
from roundtable.services.briefs import model_prose
from roundtable.services.briefs.markdown import join_front_matter
from roundtable.types import BriefDocument, BriefSection


def front_matter_for(context: BriefContext) -> dict:
    last = max((s.date for s in context.sessions if s.date), default=None)
    fm = {
        "title": context.title,
        "subtitle": context.subtitle,
        "kind": TEMPLATE_LABELS.get(context.template, context.template.title()),
        "template": context.template,
        "organizations": context.organizations,
        "authors": context.authors,
        "contributors": context.contributors,
        "anonymous_contributors": context.anonymous_contributors,
        "date": last.strftime("%B %Y") if last else "",
    }
    if context.template == "brief":
        fm["brief_number"] = context.brief_number
        fm["funder"] = context.funder
    return fm


def sections_for(template: str, roundtable) -> list[BriefSection]:
    """The sections registered for ``template``, later registrations replacing earlier ones."""
    # collect() returns newest plugin first: the first section seen for a key wins.
    chosen: dict[str, BriefSection] = {}
    for section in roundtable.collect("register_brief_sections"):
        if template in section.templates and section.key not in chosen:
            chosen[section.key] = section
    if not chosen:
        raise ValidationError(f"no sections are registered for template {template!r}")
    return sorted(chosen.values(), key=lambda s: (s.order, s.key))


def section_block(section: BriefSection, body: str) -> str:
    classes = "".join(f" .{c}" for c in section.classes)
    return f"{{#{section.key}{classes}}}\n## {section.title}\n\n{body.strip()}\n"


def build_brief(db_or_context, series=None, template: str = "report", *, roundtable, progress=None) -> BriefDocument:
    """Build a brief's Markdown from a series (``db`` + ``series``) or a gathered context.

    ``progress(stage, done, total)`` is called as stages finish: gather,
    synthesize, sections.
    """
    report = progress or (lambda stage, done, total: None)
    db = None
    if isinstance(db_or_context, BriefContext):
        context = db_or_context
        context.template = template
    else:
        if series is None:
            raise ValidationError("build_brief needs a series")
        db = db_or_context
        context = gather_brief_context(db, series, template, roundtable=roundtable)
    report("gather", 1, 3)
    context.provenance = {}
    if not context.plugins:
        context.plugins = describe_plugins(roundtable)
    sections = sections_for(template, roundtable)
    context.section_titles = [s.title for s in sections]
    if template == "report" or any(s.key in ("key-themes", "key-findings") for s in sections):
        context.parse_claims()
        for theme in context.themes:
            context.synthesis(theme)
    # Machine-drafted prose, for a series whose admin chose a model (services/drafting ran it).
    drafts = model_prose.apply_drafts(db, context) if db is not None else None
    report("synthesize", 2, 3)
    blocks = []
    for section in sections:
        body = section.render(context)
        if body and body.strip():
            blocks.append(section_block(section, body))
    fm = front_matter_for(context)
    markdown = join_front_matter(fm, "\n".join(blocks))
    if drafts is not None:
        markdown = drafts.revise(markdown, model_prose.reviewed_sections(db, context.series_id, template))
    report("sections", 3, 3)
    return BriefDocument(markdown, fm, dict(context.provenance), template)
