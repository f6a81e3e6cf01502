"""The codebook pages: manage themes, review suggestions, adopt emergent themes, see the heatmap.

Everyone in a series may read the codebook, export it and see the theme-by-session
heatmap. Authors (and facilitators) accept or reject suggestions, see emergent
themes and adopt one in one click (the tagging issue: "the author adopts a
candidate"); facilitators edit the codebook itself. Every change keeps the notes' tags.
"""

from __future__ import annotations

import yaml
from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from roundtable.application import current_roundtable
from roundtable.db import get_db
from roundtable.errors import NotFound, RoundtableError, ValidationError
from roundtable.models import Note, NoteTag, Role, Session, TagStatus, Theme
from roundtable.plurals import count_of
from roundtable.services import codebook as cb
from roundtable.services.accounts import has_role
from roundtable.services.anonymize import download_filename, gate_series_export, strings_in, xml_strings
from roundtable.services.emergent import adopt_candidate, emergent_candidates
from roundtable.services.heatmap import heatmap_svg, theme_session_counts
from roundtable.services.tagging import accept_suggestion, reject_suggestion
from roundtable.web.authorization import series_role_required
from roundtable.web.forms import commit_change, commit_or_flash, error_message, form_ids

bp = Blueprint("codebook", __name__)
PREFIX = "/s/<slug>/codebook"

MAX_UPLOAD = 1024 * 1024
PENDING_LIMIT = 200


def _done(message: str | None = None, anchor: str = ""):
    if message:
        flash(message, "success")
    return redirect(url_for("codebook.index", slug=g.series.slug) + anchor)


def _pending_suggestions(db) -> list[dict]:
    rows = db.execute(
        select(NoteTag, Note, Session.number)
        .join(Note, Note.id == NoteTag.note_id)
        .join(Session, Session.id == Note.session_id)
        .join(Theme, Theme.id == NoteTag.theme_id)
        .where(Theme.series_id == g.series.id, NoteTag.status == TagStatus.SUGGESTED, Note.deleted_at.is_(None),
               Theme.retired.is_(False))
        .order_by(Session.number, Note.seq, NoteTag.confidence.desc())
        .limit(PENDING_LIMIT)
    ).all()
    return [{"tag": tag, "note": note, "session": number} for tag, note, number in rows]


@bp.route(PREFIX + "/")
@series_role_required(Role.VIEWER)
def index(slug):
    db = get_db()
    themes = cb.series_themes(db, g.series, include_retired=True)
    tops = [t for t in themes if t.parent_id is None and not t.retired]
    children = {t.id: [c for c in themes if c.parent_id == t.id and not c.retired] for t in tops}
    can_review = has_role(g.role, Role.AUTHOR)
    return render_template(
        "codebook/index.html", series=g.series, role=g.role, tops=tops, children=children,
        retired=[t for t in themes if t.retired], counts=cb.tag_counts(db, g.series),
        all_themes=[t for t in themes if not t.retired], can_edit=has_role(g.role, Role.FACILITATOR),
        pending=_pending_suggestions(db) if can_review else [], palette=cb.PALETTE,
        default_section=cb.DEFAULT_SECTION,
    )


@bp.route(PREFIX + "/codebook.yaml")
@series_role_required(Role.VIEWER)
def export_yaml(slug):
    text = cb.dump_codebook(cb.codebook_for_series(get_db(), g.series))
    gate_series_export(get_db(), g.series, text, values=strings_in(yaml.safe_load(text)))
    return Response(text, mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="{download_filename(get_db(), g.series, "codebook.yaml")}"'})


@bp.route(PREFIX + "/codebook.qdc")
@series_role_required(Role.VIEWER)
def export_qdc(slug):
    text = cb.codebook_to_qdc(cb.codebook_for_series(get_db(), g.series))
    gate_series_export(get_db(), g.series, text, values=xml_strings(text))
    return Response(text, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{download_filename(get_db(), g.series, "codebook.qdc")}"'})


@bp.route(PREFIX + "/import", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def import_codebook(slug):
    """Replace the codebook from a YAML or .qdc file; themes missing from it are retired, not deleted."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a codebook file (.yaml or .qdc) to import.", "error")
        return redirect(url_for("codebook.index", slug=slug))
    raw = upload.read(MAX_UPLOAD + 1)

    def replace(db):
        if len(raw) > MAX_UPLOAD:
            raise ValidationError("codebook: the file is larger than 1 MB")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("codebook: the file is not UTF-8 text") from None
        is_qdc = upload.filename.lower().endswith(".qdc") or text.lstrip().startswith("<")
        return cb.save_codebook(db, g.series, cb.codebook_from_qdc(text) if is_qdc else cb.load_codebook(text),
                                roundtable=current_roundtable())

    saved = commit_or_flash(replace)
    if not saved:
        return _done()
    return _done(f"Codebook imported: {count_of(len(saved.value), 'theme')}. Themes not in the file were retired; "
                 "no tag was lost.")


def _keywords(text: str) -> list[str]:
    return [k.strip() for k in (text or "").split(",") if k.strip()]


@bp.route(PREFIX + "/themes", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def create(slug):
    form = request.form
    parent = form.get("parent_id", type=int) or None
    made = commit_or_flash(lambda db: cb.create_theme(
        db, g.series, form.get("name", ""), form.get("description", ""), _keywords(form.get("keywords")),
        form.get("color", "").strip(), form.get("section", "").strip() or cb.DEFAULT_SECTION, parent_id=parent,
        roundtable=current_roundtable(),
    ))
    if not made:
        return _done()
    return _done(f"Theme “{made.value.name}” added.", f"#theme-{made.value.id}")


@bp.route(PREFIX + "/themes/<int:theme_id>", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def update(slug, theme_id):
    form = request.form
    fields = {"name": form.get("name", ""), "description": form.get("description", ""),
              "keywords": _keywords(form.get("keywords")), "color": form.get("color", "")}
    if "section" in form:
        fields["section"] = form.get("section", "")
    saved = commit_or_flash(lambda db: cb.update_theme(db, g.series, theme_id, roundtable=current_roundtable(), **fields))
    if not saved:
        return _done()
    return _done(f"Theme “{saved.value.name}” saved.", f"#theme-{saved.value.id}")


@bp.route(PREFIX + "/themes/<int:theme_id>/merge", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def merge(slug, theme_id):
    target_id = request.form.get("target_id", type=int)

    def merge_into_target(db):
        source = cb.get_theme(db, g.series, theme_id).name
        return source, cb.merge_themes(db, g.series, theme_id, target_id or 0)

    merged = commit_or_flash(merge_into_target)
    if not merged:
        return _done()
    source, target = merged.value
    return _done(f"“{source}” merged into “{target.name}”; its tags moved over.", f"#theme-{target.id}")


@bp.route(PREFIX + "/themes/<int:theme_id>/move", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def move(slug, theme_id):
    direction = request.form.get("direction")

    def swap_with_neighbour(db):
        if direction not in ("up", "down"):
            raise ValidationError("the direction must be up or down")
        theme = cb.get_theme(db, g.series, theme_id)
        siblings = [t for t in cb.series_themes(db, g.series, include_retired=True) if t.parent_id == theme.parent_id]
        ids = [t.id for t in siblings]
        i = ids.index(theme.id)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(ids):
            ids[i], ids[j] = ids[j], ids[i]
            cb.reorder_themes(db, g.series, ids, parent_id=theme.parent_id)

    if not commit_or_flash(swap_with_neighbour):
        return _done()
    return _done(anchor=f"#theme-{theme_id}")


@bp.route(PREFIX + "/themes/<int:theme_id>/retire", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def retire(slug, theme_id):
    restore = request.form.get("restore") == "1"
    changed = commit_or_flash(lambda db: cb.retire_theme(db, g.series, theme_id, retired=not restore))
    if not changed:
        return _done()
    verb = "restored" if restore else "retired (hidden; its tags are kept)"
    return _done(f"Theme “{changed.value.name}” {verb}.")


@bp.route(PREFIX + "/themes/<int:theme_id>/split", methods=["GET", "POST"])
@series_role_required(Role.FACILITATOR)
def split(slug, theme_id):
    """Split off a new theme and move the chosen notes' tags to it."""
    db = get_db()
    try:
        theme = cb.get_theme(db, g.series, theme_id)
    except RoundtableError:
        abort(404)
    if request.method == "POST":
        name = request.form.get("name", "")
        note_ids = form_ids(request.form.getlist("note_id"))
        split_off = commit_or_flash(
            lambda db: cb.split_theme(db, g.series, theme_id, [name], {note_id: name for note_id in note_ids},
                                      roundtable=current_roundtable()))
        if not split_off:
            return redirect(url_for("codebook.split", slug=slug, theme_id=theme_id))
        [new] = split_off.value
        return _done(f"“{new.name}” split off “{theme.name}” with {count_of(len(note_ids), 'note')}.",
                     f"#theme-{new.id}")
    notes = db.execute(
        select(Note, NoteTag.status, Session.number).join(NoteTag, NoteTag.note_id == Note.id)
        .join(Session, Session.id == Note.session_id)
        .where(NoteTag.theme_id == theme.id, Note.deleted_at.is_(None), NoteTag.status != TagStatus.REJECTED)
        .order_by(Session.number, Note.seq)
    ).all()
    return render_template("codebook/split.html", series=g.series, role=g.role, theme=theme, notes=notes)


# --- suggestions ---------------------------------------------------------------------------------


def _decide(tag_id: int, accept: bool):
    done = commit_change(lambda db: (accept_suggestion if accept else reject_suggestion)(db, tag_id,
                                                                                      series_id=g.series.id))
    if isinstance(done.error, NotFound):
        abort(404)
    if not done:  # replaced by the after-save worker since the page was shown
        flash(done.message, "error")
    return redirect(url_for("codebook.index", slug=g.series.slug) + "#suggestions")


@bp.route("/s/<slug>/suggestions/<int:tag_id>/accept", methods=["POST"])
@series_role_required(Role.AUTHOR)
def accept(slug, tag_id):
    return _decide(tag_id, True)


@bp.route("/s/<slug>/suggestions/<int:tag_id>/reject", methods=["POST"])
@series_role_required(Role.AUTHOR)
def reject(slug, tag_id):
    return _decide(tag_id, False)


# --- emergent themes -----------------------------------------------------------------------------


@bp.route(PREFIX + "/emergent")
@series_role_required(Role.AUTHOR)
def emergent(slug):
    try:
        candidates = emergent_candidates(get_db(), g.series, suggester_name=_suggester(),
                                         roundtable=current_roundtable())
    except RoundtableError as exc:
        flash(error_message(exc), "error")
        candidates = []
    return render_template("codebook/emergent.html", series=g.series, role=g.role, candidates=candidates,
                           can_adopt=has_role(g.role, Role.AUTHOR),
                           tops=[t for t in cb.series_themes(get_db(), g.series) if t.parent_id is None])


def _suggester() -> str | None:
    """``SUGGESTER`` from the config; test apps use ``lexical`` so that no model loads in test runs."""
    return current_app.config.get("SUGGESTER") or ("lexical" if current_app.testing else None)


@bp.route("/s/<slug>/emergent/adopt", methods=["POST"])
@series_role_required(Role.AUTHOR)
def adopt(slug):
    form = request.form
    note_ids = form_ids(form.get("note_ids", "").split(","))
    adopted = commit_or_flash(lambda db: adopt_candidate(
        db, g.series, form.get("name", ""), form.get("description", ""), _keywords(form.get("keywords")),
        note_ids, parent_id=form.get("parent_id", type=int) or None, roundtable=current_roundtable(),
    ))
    if not adopted:
        return _done()
    verb = "is" if len(note_ids) == 1 else "are"
    return _done(f"“{adopted.value.name}” added to the codebook; its {count_of(len(note_ids), 'note')} {verb} "
                 "suggested for it.",
                 "#suggestions")


# --- the picture across sessions -----------------------------------------------------------------


def _heatmap():
    level = "sub" if request.args.get("level") == "sub" else "top"
    include_suggested = request.args.get("suggested") == "1"
    return theme_session_counts(get_db(), g.series, level=level, include_suggested=include_suggested), level, include_suggested


@bp.route(PREFIX + "/heatmap")
@series_role_required(Role.VIEWER)
def heatmap(slug):
    data, level, include_suggested = _heatmap()
    # heatmap_svg escapes every text it writes, so the SVG can be inlined as markup.
    svg = Markup(heatmap_svg(data, title=f"{g.series.title}: notes per theme and session", link_cells=True))
    return render_template("codebook/heatmap.html", series=g.series, role=g.role, heatmap=data, svg=svg,
                           level=level, include_suggested=include_suggested)


@bp.route(PREFIX + "/heatmap.svg")
@series_role_required(Role.VIEWER)
def heatmap_download(slug):
    data, _level, _suggested = _heatmap()
    svg = heatmap_svg(data, title=f"{g.series.title}: notes per theme and session")
    gate_series_export(get_db(), g.series, svg, html=svg, values=xml_strings(svg))
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Content-Disposition": f'attachment; filename="{download_filename(get_db(), g.series, "themes-by-session.svg")}"'})
