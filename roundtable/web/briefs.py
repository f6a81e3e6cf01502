"""Brief pages: the Markdown editor with live preview, versions, rebuild, exports, provenance.

Authors edit; everything here needs the author role. The preview is rendered
on the server by the same markdown-it pipeline as the exports (raw HTML off).
Exports run the anonymization export gate first; the page shows the build's
progress by polling its job (:mod:`roundtable.jobs`).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from roundtable.application import current_roundtable
from roundtable.db import get_db
from roundtable.errors import Conflict, RoundtableError
from roundtable.extensions import limiter
from roundtable.jobs import Job
from roundtable.models import Note, Role, Session
from roundtable.services import briefs, drafting
from roundtable.services.anonymize import download_filename
from roundtable.services.render import render_markdown
from roundtable.web.authorization import current_account, series_role_required
from roundtable.web.forms import commit_change, form_ids

bp = Blueprint("briefs", __name__, url_prefix="/s")

FORMATS = ("pdf", "html", "md")


def _template(name: str) -> str:
    if name not in briefs.TEMPLATES:
        abort(404)
    return name


def _draft(template: str):
    """The stored draft, built from the notes the first time it is opened."""
    db = get_db()
    brief = briefs.first_draft(db, g.series, template, roundtable=current_roundtable(), author_id=current_account().id)
    db.commit()
    return brief


def _filename(template: str, fmt: str) -> str:
    return download_filename(get_db(), g.series, f"{template}.{fmt}")


def _unbuilt(template: str) -> bool:
    brief = briefs.get_brief(get_db(), g.series, template, create=False)
    return brief is None or not brief.markdown


def _building_page(template: str, page: str):
    """Instead of a blank wait while the first build runs: a page that builds the draft and says so."""
    return render_template("briefs/building.html", series=g.series, template=template, page=page)


@bp.route("/<slug>/brief/")
@bp.route("/<slug>/brief/<template>/")
@series_role_required(Role.AUTHOR)
def editor(slug, template="report"):
    template = _template(template)
    if _unbuilt(template):
        return _building_page(template, "editor")
    return _editor_page(template, _draft(template))


BUILT_PAGES = {"editor": ".editor", "workbench": ".workbench"}


@bp.route("/<slug>/brief/<template>/build", methods=["POST"])
@series_role_required(Role.AUTHOR)
def build(slug, template):
    """Build a draft never opened before (the building page posts here); a built draft is left as it is.

    The page's script asks for JSON: the build then runs as a background job and the page polls
    ``build_status``. A build takes seconds of CPU; run in the request it held the server's worker that
    long (stalling every live socket of the process, and past gunicorn's timeout on a loaded machine).
    Without the script, the form's post builds in the request and redirects.
    """
    template = _template(template)
    if request.accept_mimetypes.best != "application/json":
        _draft(template)
        return redirect(url_for(BUILT_PAGES.get(request.form.get("page"), ".editor"), slug=slug, template=template))
    if not _unbuilt(template):
        return jsonify(built=True)
    roundtable, series_id, author_id = current_roundtable(), g.series.id, current_account().id

    def build_in_background(job: Job) -> None:
        with roundtable.database.session() as db:
            briefs.first_draft(db, series_id, template, roundtable=roundtable, author_id=author_id)
            db.commit()

    key = ("draft", series_id, template)
    try:
        roundtable.jobs.start(Job(kind="draft", owner=(author_id, series_id), total=1), build_in_background,
                              key=key, failure="the build failed; see the server log")
    except Conflict:
        pass  # another tab of this process is building it: poll the same build
    return jsonify(built=False, status=url_for(".build_status", slug=slug, template=template)), 202


@bp.route("/<slug>/brief/<template>/build/status")
@series_role_required(Role.AUTHOR)
def build_status(slug, template):
    """Whether the draft is built yet (read from the database, so any process can answer)."""
    template = _template(template)
    if not _unbuilt(template):
        return jsonify(built=True)
    job = current_roundtable().jobs.latest(("draft", g.series.id, template))
    failed = job is not None and job.state == "failed"
    return jsonify(built=False, running=job is not None and job.running, error=job.message if failed else None)


def _editor_page(template: str, brief, markdown: str | None = None, conflict: str = "", status: int = 200):
    """The editor; after a conflict, ``markdown`` is the author's unsaved text, shown again to merge by hand."""
    rendered = render_markdown(brief.markdown, brief.provenance, show_provenance=False)
    return render_template(
        "briefs/editor.html",
        series=g.series,
        template=template,
        brief=brief,
        markdown=brief.markdown if markdown is None else markdown,
        version=briefs.latest_version(get_db(), brief),
        conflict=conflict,
        preview=Markup(rendered.html),
        edited=_titles(brief, brief.edited_sections),
        formats=FORMATS,
    ), status


def _titles(brief, keys) -> list[str]:
    """Section titles as readers see them, for section keys (a key the draft no longer has is shown as is)."""
    titles = briefs.section_titles(brief.markdown or "")
    return [titles.get(key, key) for key in keys or ()]


def _opened_version() -> int | None:
    """The draft version the submitting page showed (its hidden ``version`` field), if it sent one."""
    ids = form_ids([request.form.get("version", "")])
    return ids[0] if ids else None


@bp.route("/<slug>/brief/<template>/preview", methods=["POST"])
@series_role_required(Role.AUTHOR)
def preview(slug, template):
    _template(template)
    payload = request.get_json(silent=True) or {}
    markdown = payload.get("markdown", request.form.get("markdown", ""))
    if not isinstance(markdown, str) or len(markdown) > 2_000_000:
        return jsonify(error="the draft is too long to preview"), 413
    try:
        rendered = render_markdown(markdown)
    except RoundtableError as exc:
        return jsonify(error=str(exc)), 422
    return jsonify(html=rendered.html, headings=[[h.number, h.text] for h in rendered.toc])


@bp.route("/<slug>/brief/<template>/save", methods=["POST"])
@series_role_required(Role.AUTHOR)
def save(slug, template):
    template = _template(template)
    brief = _draft(template)
    markdown = request.form.get("markdown", "").replace("\r\n", "\n")
    done = commit_change(lambda db: briefs.save_draft(
        db, brief, markdown, author_id=current_account().id, label=request.form.get("label", ""),
        roundtable=current_roundtable(), opened_version=_opened_version()))
    if isinstance(done.error, Conflict):
        return _editor_page(template, brief, markdown=markdown, status=409, conflict=done.message)
    if done:
        flash("Draft saved as a new version.", "success")
    else:
        flash(done.message, "error")
    return redirect(url_for(".editor", slug=slug, template=template))


REBUILD_BUSY = "This draft is already being rebuilt; its page shows the new draft when the rebuild ends."


def _kept_message(kept: list[str]) -> str:
    return "Rebuilt from the notes" + (f"; your edited sections were kept: {', '.join(kept)}." if kept else ".")


@bp.route("/<slug>/brief/<template>/rebuild", methods=["POST"])
@series_role_required(Role.AUTHOR)
def rebuild(slug, template):
    """Rebuild the draft from the notes, keeping the author's edited sections unless ``force``.

    The page's script asks for JSON: the rebuild runs as a background job (202) and the page polls
    ``rebuild_status`` (a build takes seconds of CPU; in the request it held the server's worker, and
    every live socket of the process, that long). Without the script the form rebuilds in its request.
    One build of a draft at a time: a second, while one runs in this process, is refused with a message.
    """
    template = _template(template)
    force = request.form.get("force") == "1"
    roundtable, series_id, author_id = current_roundtable(), g.series.id, current_account().id
    key = ("draft", series_id, template)
    wants_json = request.accept_mimetypes.best == "application/json"
    running = roundtable.jobs.latest(key)
    if not wants_json:
        if running is not None and running.running:
            flash(REBUILD_BUSY, "error")
        else:
            brief = briefs.rebuild_brief(get_db(), g.series, template, force=force, roundtable=roundtable,
                                         author_id=author_id)
            get_db().commit()
            flash(_kept_message([] if force else _titles(brief, brief.edited_sections)), "success")
        return redirect(url_for(".editor", slug=slug, template=template))

    def rebuild_in_background(job: Job) -> list[str]:
        def progress(stage, done, total):
            job.step, job.done, job.total = stage, done, total

        with roundtable.database.session() as db:
            brief = briefs.rebuild_brief(db, series_id, template, force=force, roundtable=roundtable,
                                         progress=progress, author_id=author_id)
            db.commit()
            return [] if force else _titles(brief, brief.edited_sections)

    try:
        job = roundtable.jobs.start(Job(kind="rebuild", owner=(author_id, series_id), total=3), rebuild_in_background,
                                    key=key, busy=REBUILD_BUSY, failure="the rebuild failed; see the server log")
    except Conflict as exc:
        return jsonify(error=str(exc)), 409
    return jsonify(job=job.id, status=url_for(".rebuild_status", slug=slug, template=template, job_id=job.id)), 202


@bp.route("/<slug>/brief/<template>/rebuild/<job_id>")
@series_role_required(Role.AUTHOR)
def rebuild_status(slug, template, job_id):
    """How far the rebuild ``job_id`` got; when it is done, the page's next load says what it kept."""
    _template(template)
    roundtable = current_roundtable()
    job = roundtable.jobs.get(job_id)
    if job is None or job.kind != "rebuild" or job.owner != (current_account().id, g.series.id):
        return jsonify(error="this server knows no such rebuild (it may have restarted); reload the page to see "
                             "the draft as it is"), 404
    if job.state == "done":
        roundtable.jobs.forget(job_id)
        flash(_kept_message(job.result), "success")
    return jsonify(state=job.state, stage=job.step, done=job.done, total=job.total,
                   error=job.message if job.state == "failed" else None)


@bp.route("/<slug>/brief/<template>/workbench")
@series_role_required(Role.AUTHOR)
def workbench(slug, template):
    """Each section's review status, and beside each bullet the notes it came from."""
    template = _template(template)
    if _unbuilt(template):
        return _building_page(template, "workbench")
    return _workbench_page(template)


def _workbench_page(template: str, refused: tuple[str, str] | None = None, chosen: dict | None = None,
                    status: int = 200):
    """The workbench; after a refused change, ``refused`` is (the bullet's or section's anchor, why), shown there.

    A refused change answers with this page, not a redirect to the workbench with a flashed message: the
    form's action ends in that anchor, so the browser opens the page at it, and the message is beside the
    bullet or section instead of at the top, off screen. ``chosen``: the refused form's notes and references,
    shown as the author left them.
    """
    brief = _draft(template)
    sections = briefs.workbench(get_db(), brief)
    rendered = {b.id: Markup(render_markdown(b.markdown.lstrip("- ")).html)
                for section in sections for b in section.bullets}
    texts = {section.key: Markup(render_markdown(section.text).html) for section in sections if section.text}
    anchors = {f"section-{s.key}" for s in sections} | {f"b-{b.id}" for s in sections for b in s.bullets}
    return render_template("briefs/workbench.html", series=g.series, template=template, brief=brief,
                           sections=sections, rendered=rendered, texts=texts, version=briefs.latest_version(get_db(), brief),
                           refused=refused, chosen=chosen, refused_elsewhere=bool(refused) and refused[0] not in anchors,
                           drafting_flags=drafting.flagged_bullets(get_db(), g.series, template,
                                                                    roundtable=current_roundtable())), status


@bp.route("/<slug>/brief/<template>/sections/<key>/status", methods=["POST"])
@series_role_required(Role.AUTHOR)
def section_status(slug, template, key):
    template = _template(template)
    brief = _draft(template)
    def mark(db):
        briefs.require_version(db, brief, _opened_version())
        briefs.set_section_status(db, brief, key, request.form.get("status", ""), author_id=current_account().id)

    done = commit_change(mark)
    if not done:
        return _workbench_page(template, refused=(f"section-{key}", done.message), status=done.error.http_status)
    return redirect(url_for(".workbench", slug=slug, template=template) + f"#section-{key}")


@bp.route("/<slug>/brief/<template>/bullets/<bullet_id>", methods=["POST"])
@series_role_required(Role.AUTHOR)
def regenerate(slug, template, bullet_id):
    """Rewrite one bullet from the source notes the author kept, plus the ones they added."""
    template = _template(template)
    brief = _draft(template)

    def rewrite(db):
        briefs.require_version(db, brief, _opened_version())
        added = briefs.resolve_note_refs(db, g.series.id, request.form.get("add", ""))
        briefs.regenerate_bullet(db, brief, bullet_id, form_ids(request.form.getlist("keep")) + added,
                                 author_id=current_account().id, roundtable=current_roundtable())

    done = commit_change(rewrite)
    if not done:
        chosen = {"keep": set(form_ids(request.form.getlist("keep"))), "add": request.form.get("add", "")}
        return _workbench_page(template, refused=(f"b-{bullet_id}", done.message), chosen=chosen,
                               status=done.error.http_status)
    flash("Bullet rewritten from the notes you chose; its section is kept on rebuild and back to draft.", "success")
    return redirect(url_for(".workbench", slug=slug, template=template) + f"#b-{bullet_id}")


@bp.route("/<slug>/brief/<template>/versions")
@series_role_required(Role.AUTHOR)
def versions(slug, template):
    template = _template(template)
    brief = _draft(template)
    items = briefs.list_versions(get_db(), brief)
    comparison = None
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    if a and b:
        comparison = briefs.compare_versions(get_db(), brief, a, b)
    return render_template("briefs/versions.html", series=g.series, template=template, brief=brief,
                           versions=items, comparison=comparison, a=a, b=b)


@bp.route("/<slug>/brief/<template>/sources/<bullet_id>")
@series_role_required(Role.AUTHOR)
def sources(slug, template, bullet_id):
    """The notes a generated bullet came from (anonymized text, session, role)."""
    template = _template(template)
    brief = _draft(template)
    ids = [int(i) for i in (brief.provenance or {}).get(bullet_id, [])]
    if not ids:
        abort(404)
    rows = get_db().execute(
        select(Note.id, Note.kind, Note.text, Note.speaker_role, Session.number)
        .join(Session, Note.session_id == Session.id)
        .where(Note.id.in_(ids), Session.series_id == g.series.id, Note.deleted_at.is_(None))
        .order_by(Session.number, Note.seq)
    ).all()
    notes = [dict(id=r.id, kind=r.kind, text=r.text, role=r.speaker_role or "", session=r.number) for r in rows]
    if request.accept_mimetypes.best == "application/json":
        return jsonify(bullet=bullet_id, notes=notes)
    return render_template("briefs/sources.html", series=g.series, template=template, bullet_id=bullet_id,
                           notes=notes)


# --------------------------------------------------------------------------- exports


def _export(roundtable, series_id: int, template: str, fmt: str, progress=None, provenance=False):
    with roundtable.database.session() as db:
        stored = briefs.get_brief(db, series_id, template, create=False)
        markdown = stored.markdown if stored is not None and stored.markdown else None
        data, exporter = briefs.export_brief(db, series_id, template=template, fmt=fmt,
                                             roundtable=roundtable, progress=progress,
                                             markdown=markdown, provenance=provenance)
    return data, exporter


def _export_rate() -> str:
    """Each export may render a PDF: a few per minute per account (``EXPORT_RATE_LIMIT``)."""
    return current_app.config["EXPORT_RATE_LIMIT"]


_export_limit = limiter.shared_limit(_export_rate, scope="brief-export")


@bp.route("/<slug>/brief/<template>/export/<fmt>", methods=["POST"])
@_export_limit
@series_role_required(Role.AUTHOR)
def export(slug, template, fmt):
    """Download the draft as PDF, HTML or Markdown (the export gate runs first)."""
    template = _template(template)
    if fmt not in FORMATS:
        abort(404)
    _draft(template)
    try:
        data, exporter = _export(current_roundtable(), g.series.id, template, fmt,
                                 provenance=request.form.get("provenance") == "1")
    except RoundtableError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".editor", slug=slug, template=template))
    return Response(data, mimetype=exporter.media_type.split(";")[0], headers={
        "Content-Disposition": f'attachment; filename="{_filename(template, exporter.name)}"'})


@bp.route("/<slug>/brief/<template>/jobs", methods=["POST"])
@_export_limit
@series_role_required(Role.AUTHOR)
def start_job(slug, template):
    """Start an export in the background; poll ``job_status`` for its stage."""
    template = _template(template)
    fmt = request.form.get("format", "pdf")
    if fmt not in FORMATS:
        abort(400)
    _draft(template)
    if fmt == "pdf":
        _import_pdf_engine()
    roundtable = current_roundtable()
    series_id, name, provenance = g.series.id, _filename(template, fmt), request.form.get("provenance") == "1"

    def export_in_background(job: Job) -> dict:
        def progress(stage, done, total):
            job.step, job.done = stage, min(job.done + 1, job.total)

        data, exporter = _export(roundtable, series_id, template, fmt, progress, provenance=provenance)
        return {"data": data, "media": exporter.media_type, "name": name}

    job = roundtable.jobs.start(
        Job(kind="export", owner=(current_account().id, series_id), total=5), export_in_background,
        failure="the export failed; see the server log")
    return jsonify(job=job.id, status=url_for(".job_status", slug=slug, template=template, job_id=job.id)), 202


def _import_pdf_engine() -> None:
    """Import WeasyPrint on the request's own thread, before an export job renders a PDF in another.

    Its first import looks its libraries up with a subprocess (``ldconfig -p``). Under ``roundtable
    serve``'s gevent worker a subprocess works only on the server's hub, not in the job's OS thread:
    there the import failed, and every PDF download from the editor with it. Once per process, a second.
    """
    import weasyprint  # noqa: F401  (lazy: only a process that renders a PDF pays for it)


def _job(job_id: str) -> Job:
    """The export job ``job_id`` if the logged-in account started it in this series (else 404)."""
    job = current_roundtable().jobs.get(job_id)
    if job is None or job.kind != "export" or job.owner != (current_account().id, g.series.id):
        abort(404)
    return job


@bp.route("/<slug>/brief/<template>/jobs/<job_id>")
@series_role_required(Role.AUTHOR)
def job_status(slug, template, job_id):
    job = _job(job_id)
    stage = "ready" if job.state == "done" else job.step or job.state
    body = {"stage": stage, "done": job.done, "total": job.total,
            "error": job.message if job.state == "failed" else None}
    if stage == "ready":
        body["download"] = url_for(".job_download", slug=slug, template=template, job_id=job_id)
    return jsonify(body)


@bp.route("/<slug>/brief/<template>/jobs/<job_id>/download")
@series_role_required(Role.AUTHOR)
def job_download(slug, template, job_id):
    job = _job(job_id)
    if job.state != "done":
        abort(409)
    current_roundtable().jobs.forget(job_id)
    export = job.result
    return Response(export["data"], mimetype=export["media"].split(";")[0],
                    headers={"Content-Disposition": f'attachment; filename="{export["name"]}"'})
