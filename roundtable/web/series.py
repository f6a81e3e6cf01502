"""Series pages: the overview with its sessions, the roster, and note import.

What a facilitator needs to run a series without the command line: schedule,
open and close sessions; upload a roster CSV (previewed and validated first,
nothing partial saved), edit a person; import notes taken elsewhere with a
preview before anything is stored.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from roundtable.application import current_roundtable
from roundtable.db import get_db
from roundtable.errors import RoundtableError, ValidationError
from roundtable.models import KeptTerm, Note, Participant, Role, Session
from roundtable.plurals import count_of
from roundtable.services.accounts import has_role
from roundtable.services.anonymize import (
    forget_kept_term as forget_term,
    keep_term,
    kept_terms_of,
)
from roundtable.services.anonymize.roster import parse_roster_csv, save_roster, update_participant
from roundtable.services.note_import import (
    import_notes,
    notes_from_json,
    notes_to_json,
    parse_notes_file,
    preview_import,
)
from roundtable.services.notes import NoteStream
from roundtable.services.series import schedule_session as schedule
from roundtable.web.authorization import current_account, series_role_required
from roundtable.web.forms import commit_change, commit_or_flash, error_message
from roundtable.web.live import after_save, broadcast_session_state

bp = Blueprint("series", __name__, url_prefix="/s")


@bp.app_template_global()
def optional_url(endpoint: str, **values) -> str | None:
    """A link to a page another feature may provide (codebook, brief); ``None`` when it does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.app_template_global()
def role_at_least(role: Role | None, minimum: str) -> bool:
    """For templates: whether ``role`` (``g.role``) reaches ``minimum`` ("author", "facilitator", ...)."""
    return has_role(role, Role(minimum))


def _meeting(number: int) -> Session:
    meeting = get_db().scalar(select(Session).where(Session.series_id == g.series.id, Session.number == number))
    if meeting is None:
        abort(404)
    return meeting


@bp.route("/<slug>/")
@series_role_required(Role.VIEWER)
def show(slug):
    db = get_db()
    counts = dict(db.execute(
        select(Note.session_id, func.count(Note.id)).join(Session).where(Session.series_id == g.series.id,
                                                                        Note.deleted_at.is_(None))
        .group_by(Note.session_id)
    ).all())
    people = db.scalar(select(func.count(Participant.id)).where(Participant.series_id == g.series.id))
    named = db.scalar(select(func.count(Participant.id)).where(Participant.series_id == g.series.id,
                                                               Participant.consent_named.is_(True)))
    next_number = (max((s.number for s in g.series.sessions), default=0)) + 1
    return render_template(
        "series/show.html", series=g.series, role=g.role, note_counts=counts, people=people, named=named,
        next_number=next_number, can_facilitate=has_role(g.role, Role.FACILITATOR),
        can_write=has_role(g.role, Role.NOTE_TAKER), today=date.today().isoformat(),
        kept_terms=kept_terms_of(db, g.series),
    )


@bp.route("/<slug>/kept-terms/<int:kept_id>/forget", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def forget_kept_term(slug, kept_id):
    """A facilitator removes a kept term: it is replaced again in notes written from now on."""
    db = get_db()
    kept = db.get(KeptTerm, kept_id)
    if kept is None or kept.series_id != g.series.id:
        abort(404)
    forget_term(db, g.series, kept.term, current_account().id)
    db.commit()
    flash("The term will be replaced again in new notes.", "success")
    return redirect(url_for("series.show", slug=slug))


# --- sessions --------------------------------------------------------------------------------


@bp.route("/<slug>/sessions", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def schedule_session(slug):
    form = request.form
    try:
        number = int(form.get("number", ""))
        if not 1 <= number <= 2**31 - 1:
            raise ValueError
    except ValueError:
        flash("The session number must be a whole number from 1.", "error")
        return redirect(url_for("series.show", slug=slug))
    when = None
    if form.get("date"):
        try:
            when = date.fromisoformat(form["date"])
        except ValueError:
            flash("The date must look like 2026-05-14.", "error")
            return redirect(url_for("series.show", slug=slug))
    scheduled = commit_or_flash(lambda db: schedule(db, g.series, number, when, form.get("title", ""),
                                                    form.get("focus", ""), roundtable=current_roundtable()))
    if not scheduled:
        return redirect(url_for("series.show", slug=slug))
    flash(f"Session {number} is scheduled.", "success")
    return redirect(url_for("series.show", slug=slug))


@bp.route("/<slug>/sessions/<int:number>/open", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def open_session(slug, number):
    meeting = NoteStream(get_db(), current_roundtable()).open_session(_meeting(number).id, current_account().id)
    broadcast_session_state(meeting)
    flash(f"Session {number} is live: note-takers can write now.", "success")
    return redirect(url_for("live.session_page", slug=slug, number=number))


@bp.route("/<slug>/sessions/<int:number>/close", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def close_session(slug, number):
    stream = NoteStream(get_db(), current_roundtable())
    meeting = _meeting(number)
    stream.close_session(meeting.id, current_account().id)
    broadcast_session_state(meeting)
    flash(f"Session {number} is closed; its notes are read-only.", "success")
    return redirect(url_for("live.session_page", slug=slug, number=number))


# --- roster ----------------------------------------------------------------------------------


@bp.route("/<slug>/roster")
@series_role_required(Role.FACILITATOR)
def roster(slug):
    return _roster_page()


def _roster_page(preview=None, csv_text: str = "", error: str | None = None, status: int = 200):
    # Names are encrypted at rest, so the database cannot sort them: sort here.
    people = sorted(
        get_db().scalars(select(Participant).where(Participant.series_id == g.series.id)).all(),
        key=lambda person: person.name.casefold(),
    )
    return render_template("series/roster.html", series=g.series, people=people, preview=preview,
                           csv_text=csv_text, error=error), status


@bp.route("/<slug>/roster/upload", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def roster_upload(slug):
    """Preview an uploaded roster (step 1) or save a previewed one (step 2); a bad file saves nothing."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        raw = upload.read()
    else:
        raw = request.form.get("csv_text", "").encode("utf-8")

    def read_roster(db):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("roster.csv: the file is not UTF-8 text") from None
        rows = parse_roster_csv(text.replace("\r\n", "\n"),
                                upload.filename if upload and upload.filename else "roster.csv")
        saved = save_roster(db, g.series, rows) if request.form.get("confirm") == "yes" else None
        return text, rows, saved

    done = commit_change(read_roster)
    if not done:
        return _roster_page(error=done.message, status=400)
    text, rows, saved = done.value
    if saved is None:
        return _roster_page(preview=rows, csv_text=text)
    flash(f"Roster saved: {saved[0]} added, {saved[1]} updated.", "success")
    return redirect(url_for("series.roster", slug=slug))


@bp.route("/<slug>/public-names")
@series_role_required(Role.AUTHOR)
def public_names(slug):
    return _public_names_page()


def _public_names_page(error: str | None = None, status: int = 200):
    terms = get_db().scalars(select(KeptTerm.term).where(KeptTerm.series_id == g.series.id)
                             .order_by(KeptTerm.term)).all()
    return render_template("series/public_names.html", series=g.series, terms=terms, error=error), status


@bp.route("/<slug>/public-names", methods=["POST"])
@series_role_required(Role.AUTHOR)
def public_names_add(slug):
    """Keep a public reference ("the Obama administration", a cited author) in every note of the series."""
    kept = commit_change(lambda db: keep_term(db, g.series, request.form.get("term", ""), current_account().id))
    if not kept:
        return _public_names_page(error=kept.message, status=400)
    flash("Kept: later notes in this series leave it as written.", "success")
    return redirect(url_for("series.public_names", slug=slug))


@bp.route("/<slug>/public-names/remove", methods=["POST"])
@series_role_required(Role.AUTHOR)
def public_names_remove(slug):
    db = get_db()
    forget_term(db, g.series, request.form.get("term", ""), current_account().id)
    db.commit()
    flash("Removed: later notes replace it again.", "success")
    return redirect(url_for("series.public_names", slug=slug))


@bp.route("/<slug>/roster/<int:participant_id>", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def roster_edit(slug, participant_id):
    form = request.form
    if commit_or_flash(lambda db: update_participant(
            db, g.series, participant_id, name=form.get("name", ""), aliases=form.get("aliases", ""),
            affiliation=form.get("affiliation", ""), role=form.get("role", ""),
            consent_named=form.get("consent") == "named")):
        flash("Saved.", "success")
    return redirect(url_for("series.roster", slug=slug))


# --- note import -----------------------------------------------------------------------------


@bp.route("/<slug>/sessions/<int:number>/import", methods=["GET", "POST"])
@series_role_required(Role.NOTE_TAKER)
def import_notes_page(slug, number):
    """Upload a file, see the notes as they would be stored (anonymized), then import them."""
    meeting = _meeting(number)
    db = get_db()
    context = {"series": g.series, "meeting": meeting}
    if request.method == "GET":
        return render_template("series/import.html", **context)
    try:
        if request.form.get("confirm") == "yes":
            notes = notes_from_json(request.form.get("parsed", ""))
            results = import_notes(db, meeting, notes, current_account().id, roundtable=current_roundtable())
            db.commit()
            saved = [note.id for note, created in results if created]

            for note_id in saved:
                after_save(note_id, g.series.id, meeting.id)
            already = len(results) - len(saved)
            flash(f"Imported {count_of(len(saved), 'note')}"
                  + (f" ({already} {'was' if already == 1 else 'were'} already there)." if already else "."),
                  "success")
            return redirect(url_for("live.session_page", slug=slug, number=number))
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError("choose a file to import")
        notes = parse_notes_file(upload.filename, upload.read())
        preview = preview_import(db, meeting, notes, roundtable=current_roundtable())
        db.rollback()
    except RoundtableError as exc:
        db.rollback()
        return render_template("series/import.html", error=error_message(exc), **context), 400
    return render_template("series/import.html", preview=preview, parsed=notes_to_json(notes),
                           filename=upload.filename, **context)
