"""``roundtable brief ...`` and ``roundtable render``: build, rebuild and render briefs."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import with_appcontext

from roundtable.application import current_roundtable
from roundtable.errors import NotFound, ValidationError
from roundtable.services.briefs import (
    TEMPLATES,
    BriefDocument,
    choose_exporter,
    export_brief,
    export_document,
    get_brief,
    rebuild_brief,
    series_roster,
)
from roundtable.services.render import split_front_matter

FORMATS = ("pdf", "html", "md")
STAGES = ("gather", "synthesize", "sections", "gate", "pdf")


@contextmanager
def _progress_bar(label: str, steps: int):
    """The ``progress(stage, done, total)`` callback of a click progress bar on stderr. The bar shows from the
    first stage on, so an error found before any work (a wrong series) is the only line printed."""
    bar = click.progressbar(length=steps, label=label, show_eta=False, file=sys.stderr,
                            item_show_func=lambda stage: stage or "")
    shown = []

    def progress(stage, done, total):
        if not shown:
            shown.append(bar.__enter__())
        bar.update(1, stage)

    try:
        yield progress
    finally:
        if shown:
            bar.__exit__(None, None, None)


@click.group("brief")
def brief_group():
    """Build policy reports and research briefs from a series' tagged notes."""


@brief_group.command("build")
@click.argument("series")
@click.option("--template", type=click.Choice(TEMPLATES), default="report", show_default=True,
              help="report: the long policy report; brief: the short research brief.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: from the file suffix, else pdf).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--draft", is_flag=True, help="Export the stored (edited) draft instead of building from notes.")
@click.option("--provenance", is_flag=True, help="Show which notes each bullet came from.")
@with_appcontext
def build_command(series, template, fmt, output, draft, provenance):
    """Build SERIES (slug or id) into FILE; the anonymization export gate runs first."""
    fmt = fmt or {".md": "md", ".html": "html", ".htm": "html"}.get(output.suffix.lower(), "pdf")
    with current_roundtable().database.session() as db, _progress_bar(f"Building {template}", len(STAGES)) as progress:
        markdown = None
        if draft:
            stored = get_brief(db, series, template, create=False)
            if stored is None or not stored.markdown:
                raise NotFound(f"series {series!r} has no stored {template} draft; build without --draft")
            markdown = stored.markdown
        data, exporter = export_brief(db, series, template=template, fmt=fmt, roundtable=current_roundtable(), progress=progress,
                                      markdown=markdown, provenance=provenance)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
    click.echo(f"Wrote {output} ({exporter.name}, {len(data):,} bytes)")


@brief_group.command("rebuild")
@click.argument("series")
@click.option("--template", type=click.Choice(TEMPLATES), default="report", show_default=True)
@click.option("--force", is_flag=True, help="Also overwrite the sections an author edited.")
@with_appcontext
def rebuild_command(series, template, force):
    """Rebuild the stored draft of SERIES from its notes, keeping edited sections."""
    with current_roundtable().database.session() as db, _progress_bar(f"Rebuilding {template}", 3) as progress:
        brief = rebuild_brief(db, series, template, force=force, roundtable=current_roundtable(), progress=progress)
        kept = [] if force else list(brief.edited_sections or [])
    click.echo("Draft rebuilt" + (f"; kept edited sections: {', '.join(kept)}" if kept else "") + ".")


@click.command("render")
@click.argument("draft", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="OUT.pdf, OUT.html, OUT.md or the suffix of any plugin's format")
@click.option("--format", "fmt", default=None, help="Output format (default: from the file suffix).")
@click.option("--template", type=click.Choice(TEMPLATES), default=None,
              help="Layout (default: the draft's front matter, else report).")
@click.option("--series", default=None, help="Check names against this series' roster before writing.")
@with_appcontext
def render_command(draft, output, fmt, template, series):
    """Render a Markdown DRAFT (front matter: title, subtitle, authors) with an exporter, after the export gate."""
    roundtable = current_roundtable()
    exporter = choose_exporter(roundtable, fmt, suffix=output.suffix)
    try:
        markdown = draft.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{draft}: not UTF-8 text") from None
    front_matter, _ = split_front_matter(markdown)
    document = BriefDocument(markdown, front_matter, {}, template or str(front_matter.get("template") or "report"))
    roster = None
    if series:
        with current_roundtable().database.session() as db:
            roster = series_roster(db, series)
    data = export_document(document, exporter, roster)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    click.echo(f"Wrote {output} ({exporter.name}, {len(data):,} bytes)")
