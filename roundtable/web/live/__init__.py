"""The live session page, its download, and its Socket.IO events (in :mod:`roundtable.web.live.events`).

The package splits what changes for different reasons: ``events`` (the socket
protocol), ``presence`` (who is here), ``after_save`` (slow work after a note
is stored), ``rooms`` (room names).
"""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, Response, abort, current_app, g, render_template
from sqlalchemy import select

from roundtable.application import current_roundtable
from roundtable.db import get_db
from roundtable.extensions import socketio
from roundtable.models import NOTE_KINDS, Role, Session, SessionState, TagStatus
from roundtable.services.accounts import has_role
from roundtable.services.codebook import series_themes, theme_colors
from roundtable.services.notes import NoteStream, note_takers, speaker_roles
from roundtable.services.session_export import export_session_notes
from roundtable.web.authorization import series_role_required
from roundtable.web.live import events
from roundtable.web.live.after_save import after_save
from roundtable.web.live.rooms import room_of

__all__ = ["after_save", "bp", "broadcast_session_state", "init_app", "room_of"]

bp = Blueprint("live", __name__, url_prefix="/s")


def _meeting(series, number: int) -> Session:
    meeting = get_db().scalar(select(Session).where(Session.series_id == series.id, Session.number == number))
    if meeting is None:
        abort(404)
    return meeting


def theme_choices(series) -> list[dict]:
    """The series' themes for the tag picker, in codebook order with the codebook's colours."""
    themes = series_themes(get_db(), series)
    colors = theme_colors(themes)
    return [{"id": t.id, "name": t.name, "color": colors[t.id], "sub": t.parent_id is not None} for t in themes]


@bp.route("/<slug>/sessions/<int:number>/")
@series_role_required(Role.VIEWER)
def session_page(slug, number):
    meeting = _meeting(g.series, number)
    db = get_db()
    can_write = has_role(g.role, Role.NOTE_TAKER)
    context = {
        "series": g.series, "meeting": meeting, "role": g.role, "themes": theme_choices(g.series),
        "speaker_roles": speaker_roles(db, g.series.id), "kinds": NOTE_KINDS, "can_write": can_write,
        "can_review": has_role(g.role, Role.AUTHOR), "can_facilitate": has_role(g.role, Role.FACILITATOR),
        "max_length": current_app.config["MAX_NOTE_LENGTH"],
        "writers": note_takers(db, g.series.id, meeting.id),
        "ack_timeout_ms": current_app.config["LIVE_ACK_TIMEOUT_MS"],
    }
    if meeting.state is SessionState.LIVE:
        return render_template("live/session.html", **context)
    notes = NoteStream(db, current_roundtable()).notes_after(meeting.id, 0, include_deleted=False)
    kind_counts = Counter(n.kind for n in notes)
    theme_counts = Counter()
    for note in notes:
        for tag in note.tags:
            if tag.status is TagStatus.ACCEPTED and tag.theme is not None:
                theme_counts[tag.theme.name] += 1
    return render_template(
        "live/closed.html", notes=notes, kind_counts=[(k, kind_counts.get(k, 0)) for k in NOTE_KINDS],
        theme_counts=theme_counts.most_common(), **context,
    )


@bp.route("/<slug>/sessions/<int:number>/notes.<fmt>")
@series_role_required(Role.VIEWER)
def session_notes(slug, number, fmt):
    """One session's notes as Markdown or CSV, through the export gate (a blocked file is a 422 page)."""
    meeting = _meeting(g.series, number)
    if fmt not in ("md", "csv"):
        abort(404)
    text, mimetype, filename = export_session_notes(get_db(), meeting, fmt)
    return Response(text, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def broadcast_session_state(meeting: Session) -> None:
    """Tell everyone in the room that the session opened or closed (pages switch to read-only)."""
    socketio.emit("session:state", {"session_id": meeting.id, "state": meeting.state.value}, to=room_of(meeting.id))


def init_app(app) -> None:
    """Bind the socket handlers to this app's Socket.IO server."""
    server_socketio = app.extensions["socketio"]
    server_socketio.on_event("connect", events.on_connect)
    server_socketio.on_event("disconnect", events.on_disconnect)
    for name, handler in events.EVENTS.items():
        server_socketio.on_event(name, handler)
