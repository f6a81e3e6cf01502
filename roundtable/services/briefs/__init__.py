"""Briefs: synthesize a series' tagged notes into a policy report or a research brief.

A brief is Markdown built by *sections* that plugins contribute through the
``register_brief_sections`` hook (the defaults live in
``roundtable_plugins.report_sections``). Each section renders from a
:class:`BriefContext`, gathered once from the database, and wraps its output in
a delimited block::

    {#key-themes}
    ## Key Themes

so that a rebuild can tell sections apart and keep the ones an author edited.
Generated bullets carry an id (``[**Lead-in:**]{#p-3-1}``) that maps, in
:attr:`BriefDocument.provenance`, to the notes they came from.

The package, one module per step:

- ``context``: read a series once (:func:`gather_brief_context`);
- ``prose``: roles, plurals, sentences and the shorthand glossary;
- ``synthesis``: notes to bullets, quotes, disagreements, open questions;
- ``findings``: Key Findings and Strategic Implications, from the themes' notes and bullets;
- ``resources``: the links mentioned, named and grouped;
- ``markdown``: escaping, links, front matter, ``{#key}`` sections;
- ``build``: a template's sections into one document (:func:`build_brief`);
- ``drafts``: stored drafts, rebuilds that keep edits, versions;
- ``export``: the export gate, then an exporter (:func:`export_brief`).
"""

from roundtable.services.briefs.build import BriefDocument, BriefSection, build_brief, sections_for
from roundtable.services.briefs.context import (
    TEMPLATE_LABELS,
    TEMPLATES,
    BriefContext,
    NoteItem,
    ResourceItem,
    SessionItem,
    ThemeItem,
    gather_brief_context,
)
from roundtable.services.briefs.drafts import (
    SECTION_STATUSES,
    VersionComparison,
    changed_sections,
    compare_markdown,
    compare_versions,
    first_draft,
    get_brief,
    latest_version,
    list_versions,
    merge_rebuild,
    rebuild_brief,
    regenerate_bullet,
    require_version,
    resolve_note_refs,
    reviewed_sections,
    save_draft,
    save_version,
    section_keys,
    section_titles,
    set_section_status,
    workbench,
)
from roundtable.services.briefs.export import (
    check_export,
    choose_exporter,
    export_brief,
    export_document,
    exporters_of,
    gate_document,
    series_roster,
)
from roundtable.services.briefs.markdown import join_front_matter, split_sections
from roundtable.services.briefs.synthesis import Bullet, QuoteItem, ThemeSynthesis

__all__ = [
    "TEMPLATES", "TEMPLATE_LABELS", "BriefContext", "BriefDocument", "BriefSection", "Bullet", "NoteItem",
    "QuoteItem", "ResourceItem", "SessionItem", "ThemeItem", "ThemeSynthesis", "VersionComparison",
    "build_brief", "changed_sections", "check_export", "choose_exporter", "export_document", "exporters_of",
    "gate_document", "series_roster", "compare_markdown", "compare_versions", "first_draft", "export_brief",
    "gather_brief_context", "get_brief", "join_front_matter", "latest_version", "list_versions", "merge_rebuild", "rebuild_brief", "require_version",
    "save_draft", "save_version", "sections_for", "split_sections", "SECTION_STATUSES",
    "regenerate_bullet", "reviewed_sections", "section_keys", "section_titles", "set_section_status", "resolve_note_refs", "workbench",
]
