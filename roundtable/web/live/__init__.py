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
from roundtable.models import NOTE_KINDS, Role, Session, SessionState, TagStatus, Theme
from roundtable.services.accounts import has_role
from roundtable.services.notes import NoteStream, note_takers, speaker_roles
from roundtable.services.session_export import export_session_notes
from roundtable.web.authorization import series_role_required
from roundtable.web.live import events
from roundtable.web.live.after_save import after_save
from roundtable.web.live.rooms import room_of, writers_room_of

__all__ = ["after_save", "bp", "broadcast_session_state", "init_app", "room_of", "writers_room_of"]

bp = Blueprint("live", __name__, url_prefix="/s")


def _meeting(series, number: int) -> Session:
    meeting = get_db().scalar(select(Session).where(Session.series_id == series.id, Session.number == number))
    if meeting is None:
        abort(404)
    return meeting


def _themes(series) -> list[Theme]:
    return list(get_db().scalars(
        select(Theme).where(Theme.series_id == series.id, Theme.retired.is_(False)).order_by(Theme.parent_id.is_not(None), Theme.position)
    ))


def theme_choices(series) -> list[dict]:
    """Themes in codebook order (each top-level theme followed by its sub-themes), with a shortcut digit."""
    themes = _themes(series)
    tops = [t for t in themes if t.parent_id is None]
    ordered = []
    for top in sorted(tops, key=lambda t: t.position):
        ordered.append(top)
        ordered.extend(sorted((t for t in themes if t.parent_id == top.id), key=lambda t: t.position))
    from roundtable.services.codebook import PALETTE

    choices = []
    for theme in ordered:
        top = theme if theme.parent_id is None else next((t for t in tops if t.id == theme.parent_id), theme)
        fallback = PALETTE[tops.index(top) % len(PALETTE)] if top in tops else "#999999"
        choices.append({"id": theme.id, "name": theme.name, "color": theme.color or top.color or fallback,
                        "sub": theme.parent_id is not None})
    return choices


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
        "suggestion_floor": current_app.config["SUGGESTION_FLOOR"],
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
