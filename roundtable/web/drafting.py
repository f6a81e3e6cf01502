"""The drafting page: an admin chooses the language model for a series; authors run it and see what it did.

Registered by the ``llm_drafting`` plugin. Runs happen off the request path
(``services.drafting.start_job``, on :mod:`roundtable.jobs`); the page polls their progress and can
cancel them. The page always says where note text will go before anything is sent.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for

from roundtable.application import current_roundtable
from roundtable.db import get_db
from roundtable.errors import RoundtableError
from roundtable.models import Role
from roundtable.services import drafting
from roundtable.services.audit import record_audit
from roundtable.services.accounts import has_role
from roundtable.web.authorization import current_account, series_role_required

bp = Blueprint("drafting", __name__, url_prefix="/s")


def _destination(model_name: str | None) -> tuple[str | None, str | None]:
    """(where the text goes, why the model cannot be used)."""
    if not model_name:
        return None, None
    try:
        choice = drafting.resolve_model(model_name)
    except RoundtableError as exc:
        return None, str(exc)
    return choice.destination, None


def _where(destination: str | None) -> str:
    if not destination:
        return "none"
    return "hosted" if destination.startswith("a hosted") else "ollama" if "Ollama" in destination else "local"


@bp.route("/<slug>/brief/drafting")
@series_role_required(Role.AUTHOR)
def page(slug):
    template = request.args.get("template", "report")
    if template not in ("report", "brief"):
        abort(404)
    destination, problem = _destination(g.series.draft_model)
    rows = (drafting.bullet_statuses(get_db(), g.series, template, roundtable=current_roundtable())
            if g.series.draft_model else [])
    return render_template("drafting/page.html", series=g.series, template=template, rows=rows,
                           destination=destination, problem=problem, job=drafting.current_job(current_roundtable(), g.series.id),
                           can_choose=has_role(g.role, Role.ADMIN), llm_installed=drafting.llm_installed())


@bp.route("/<slug>/brief/drafting/model", methods=["POST"])
@series_role_required(Role.ADMIN)
def set_model(slug):
    """Switch drafting on with the named model, or off with an empty name."""
    name = request.form.get("model", "").strip()
    if request.form.get("off") == "1":
        name = ""
    if len(name) > 500:
        flash("That model name is too long.", "error")
        return redirect(url_for(".page", slug=slug))
    g.series.draft_model = name or None
    destination, problem = _destination(name)
    # Where the notes may now go is a decision worth a line in the audit log.
    record_audit(get_db(), current_account(), g.series, "brief.draft_model",
                 {"on": bool(name), "where": _where(destination)})
    get_db().commit()
    if name:
        flash(f"Drafting is on with {name}. " + (f"Note text will go to {destination}." if destination
                                                 else f"The model cannot be used yet: {problem}."),
              "success" if destination else "error")
    else:
        flash("Drafting is off: briefs use the deterministic synthesis only.", "success")
    return redirect(url_for(".page", slug=slug))


@bp.route("/<slug>/brief/drafting/run", methods=["POST"])
@series_role_required(Role.AUTHOR)
def run(slug):
    template = request.form.get("template", "report")
    if template not in ("report", "brief") or not g.series.draft_model:
        abort(400)
    try:
        drafting.start_job(current_roundtable(), g.series.id, template)
    except RoundtableError as exc:
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error=str(exc)), 409
        flash(str(exc), "error")
        return redirect(url_for(".page", slug=slug, template=template))
    if request.accept_mimetypes.best == "application/json":
        return jsonify(status=url_for(".status", slug=slug)), 202
    return redirect(url_for(".page", slug=slug, template=template))


@bp.route("/<slug>/brief/drafting/status")
@series_role_required(Role.AUTHOR)
def status(slug):
    job = drafting.current_job(current_roundtable(), g.series.id)
    return jsonify(job.as_dict() if job else {"state": "idle"})


@bp.route("/<slug>/brief/drafting/cancel", methods=["POST"])
@series_role_required(Role.AUTHOR)
def cancel(slug):
    job = drafting.current_job(current_roundtable(), g.series.id)
    if job is not None and job.running:
        job.cancel()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(job.as_dict() if job else {"state": "idle"})
    flash("Cancelling: the run stops after the text it is writing.", "success")
    return redirect(url_for(".page", slug=slug))
