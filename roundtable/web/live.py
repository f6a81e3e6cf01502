"""The live session page and its Socket.IO events, side by side.

One room per session (``session-<id>``). Every event carries one JSON object
with ``session_id``, is guarded by :func:`roundtable.web.access.socket_access`
and is validated against a JSON schema before anything happens; a bad payload
gets an ``error`` event (and the same body as its acknowledgement) and changes
nothing.

Client -> server (acknowledged):
    session:join   {session_id, after}            -> {state, last_seq, notes, presence, you}
    notes:since    {session_id, after}            -> {state, last_seq, notes}
    note:add       {session_id, uuid, text, kind, speaker_role?, themes?}  -> {ok, id, seq, note}
    note:edit      {session_id, note_id, version, text?, kind?, speaker_role?} -> {ok, note} | {code: 409, current}
    note:delete    {session_id, note_id, version} -> {ok, note}
    term:keep      {session_id, note_id, version, term, text}  -> {ok, note} | {code: 409, current}
    tag:add / tag:remove {session_id, note_id, theme_id};  tag:accept / tag:reject {session_id, tag_id}
    typing         {session_id, typing}
Server -> room:
    note:added, note:updated, note:tags, presence, typing, session:state, error
"""

from __future__ import annotations

import functools
import os
import threading
from collections import Counter

import jsonschema
from flask import Blueprint, abort, current_app, g, render_template, request
from sqlalchemy import select

from roundtable.app import anonymization_options
from roundtable.errors import Forbidden, RoundtableError, ValidationError
from roundtable.extensions import socketio
from roundtable.models import NOTE_KINDS, Note, NoteTag, Role, SessionState, TagStatus, Theme
from roundtable.models import Session as Meeting
from roundtable.services.accounts import has_role
from roundtable.services.notes import NoteStream, StaleEdit, note_to_dict, speaker_roles
from roundtable.web.access import current_account, get_db, series_role_required, socket_access, socket_error

bp = Blueprint("live", __name__, url_prefix="/s")

_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
_SEQ = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
_UUID = {"type": "string", "pattern": "^[0-9a-fA-F-]{32,36}$"}
_ROLE = {"type": ["string", "null"], "maxLength": 120}


def _schema(required, **properties):
    return {"type": "object", "required": ["session_id", *required], "additionalProperties": False,
            "properties": {"session_id": _ID, **properties}}


SCHEMAS = {
    "session:join": _schema([], after=_SEQ),
    "notes:since": _schema(["after"], after=_SEQ),
    "note:add": _schema(
        ["uuid", "text"], uuid=_UUID, text={"type": "string", "maxLength": 20000},
        kind={"enum": list(NOTE_KINDS)}, speaker_role=_ROLE,
        themes={"type": "array", "items": _ID, "maxItems": 20, "uniqueItems": True},
    ),
    "note:edit": _schema(
        ["note_id", "version"], note_id=_ID, version=_ID, text={"type": "string", "maxLength": 20000},
        kind={"enum": list(NOTE_KINDS)}, speaker_role=_ROLE,
    ),
    "note:delete": _schema(["note_id", "version"], note_id=_ID, version=_ID),
    "term:keep": _schema(
        ["note_id", "version", "term", "text"], note_id=_ID, version=_ID,
        term={"type": "string", "minLength": 1, "maxLength": 100}, text={"type": "string", "maxLength": 20000},
    ),
    "tag:add": _schema(["note_id", "theme_id"], note_id=_ID, theme_id=_ID),
    "tag:remove": _schema(["note_id", "theme_id"], note_id=_ID, theme_id=_ID),
    "tag:accept": _schema(["tag_id"], tag_id=_ID),
    "tag:reject": _schema(["tag_id"], tag_id=_ID),
    "typing": _schema(["typing"], typing={"type": "boolean"}),
}
_VALIDATORS = {name: jsonschema.Draft202012Validator(schema) for name, schema in SCHEMAS.items()}


def _writing_stream(db) -> NoteStream:
    """A note stream that anonymizes with this app's detectors and secret."""
    app = current_app._get_current_object()
    return NoteStream(db, max_length=app.config["MAX_NOTE_LENGTH"], **anonymization_options(app))


def writers_room_of(session_id: int) -> str:
    """Note-takers and up: the only ones who act on theme suggestions, so the only ones sent them.

    Sending suggestions to every viewer would double the fan-out of a busy session for nothing.
    """
    return f"{room_of(session_id)}/writers"


def room_of(session_id: int) -> str:
    return f"session-{session_id}"


# --- presence (per process; see docs/deployment.md) ------------------------------------------


class Presence:
    """Who is connected to which session room, from this process's point of view."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rooms: dict[int, dict[str, tuple[int, str, bool]]] = {}

    def join(self, session_id: int, sid: str, account_id: int, name: str, writer: bool) -> None:
        with self._lock:
            self._rooms.setdefault(session_id, {})[sid] = (account_id, name, writer)

    def leave(self, sid: str) -> list[int]:
        with self._lock:
            left = [sid_room for sid_room, members in self._rooms.items() if members.pop(sid, None)]
            for session_id in left:
                if not self._rooms[session_id]:
                    del self._rooms[session_id]
            return left

    def summary(self, session_id: int) -> dict:
        with self._lock:
            members = list(self._rooms.get(session_id, {}).values())
        writers = sorted({name for _id, name, writer in members if writer}, key=str.casefold)
        viewers = len({account_id for account_id, _name, _writer in members})
        return {"writers": writers, "viewers": viewers, "connections": len(members)}


presence = Presence()


# --- the page --------------------------------------------------------------------------------


def _meeting(series, number: int) -> Meeting:
    meeting = get_db().scalar(select(Meeting).where(Meeting.series_id == series.id, Meeting.number == number))
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
    }
    if meeting.state is SessionState.LIVE:
        return render_template("live/session.html", **context)
    notes = NoteStream(db).notes_after(meeting.id, 0, include_deleted=False)
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


# --- socket events ---------------------------------------------------------------------------


def _fail(exc: RoundtableError) -> dict:
    """Turn a user error into an ``error`` event; the acknowledgement carries the same body."""
    code = getattr(exc, "http_status", 400)
    body = socket_error(code, str(exc))
    if isinstance(exc, StaleEdit):
        body["current"] = {"note_id": exc.note_id, "text": exc.current_text, "version": exc.current_version,
                           "deleted": exc.deleted}
    return body


def live_event(name: str, minimum: Role, rate: str | None = None):
    """Register a guarded, schema-checked handler for ``name``; user errors become ``error`` events."""

    def decorator(handler):
        @functools.wraps(handler)
        def checked(payload, *args):
            errors = sorted(_VALIDATORS[name].iter_errors(payload), key=lambda e: list(e.path))
            if errors:
                where = ".".join(str(p) for p in errors[0].path) or "message"
                return socket_error(400, f"invalid {name} message: {where}: {_short(errors[0].message)}")
            meeting = get_db().get(Meeting, payload["session_id"])
            try:
                return handler(payload, meeting)
            except RoundtableError as exc:
                get_db().rollback()
                return _fail(exc)

        guarded = socket_access(minimum, rate=rate)(checked)
        _EVENTS[name] = guarded
        return guarded

    return decorator


def _short(message: str) -> str:
    return message if len(message) < 120 else message[:117] + "..."


_EVENTS: dict = {}


@live_event("session:join", Role.VIEWER)
def on_join(payload, meeting):
    from flask_socketio import join_room

    account = current_account()
    join_room(room_of(meeting.id))
    if has_role(g.role, Role.NOTE_TAKER):
        join_room(writers_room_of(meeting.id))
    presence.join(meeting.id, request.sid, account.id, account.display_name, has_role(g.role, Role.NOTE_TAKER))
    summary = presence.summary(meeting.id)
    _announce_presence(meeting.id)
    notes = NoteStream(get_db()).notes_after(meeting.id, payload.get("after", 0))
    return {"ok": True, "state": meeting.state.value, "last_seq": meeting.last_seq,
            "notes": [note_to_dict(n) for n in notes], "presence": summary,
            "you": {"id": account.id, "name": account.display_name, "role": g.role.value}}


@live_event("notes:since", Role.VIEWER)
def on_since(payload, meeting):
    notes = NoteStream(get_db()).notes_after(meeting.id, payload["after"])
    return {"ok": True, "state": meeting.state.value, "last_seq": meeting.last_seq,
            "notes": [note_to_dict(n) for n in notes]}


@live_event("note:add", Role.NOTE_TAKER, rate="note")
def on_add(payload, meeting):
    db = get_db()
    stream = _writing_stream(db)
    note, created = stream.add_note(meeting.id, payload["uuid"], payload["text"], payload.get("kind") or "point",
                                    payload.get("speaker_role"), current_account().id)
    if created and payload.get("themes"):
        from roundtable.services.tagging import add_manual_tag

        for theme_id in payload["themes"]:
            add_manual_tag(db, note.id, theme_id)
        db.commit()
        db.refresh(note)
    data = note_to_dict(note)
    if created:
        socketio.emit("note:added", data, to=room_of(meeting.id))
        _after_save(note.id, meeting.series_id, meeting.id)
    return {"ok": True, "id": note.id, "seq": note.seq, "uuid": note.uuid, "note": data}


@live_event("note:edit", Role.NOTE_TAKER, rate="note")
def on_edit(payload, meeting):
    note = _note_in(meeting, payload["note_id"])
    stream = _writing_stream(get_db())
    if all(payload.get(k) is None for k in ("text", "kind")) and "speaker_role" not in payload:
        raise ValidationError("nothing to change")
    # A null speaker_role clears it; a missing one leaves it as it is.
    role = (payload["speaker_role"] or "") if "speaker_role" in payload else None
    note = stream.edit_note(note.id, payload["version"], text=payload.get("text"), kind=payload.get("kind"),
                            speaker_role=role)
    data = note_to_dict(note)
    socketio.emit("note:updated", data, to=room_of(meeting.id))
    if payload.get("text") is not None:
        _after_save(note.id, meeting.series_id, meeting.id)
    return {"ok": True, "note": data}


@live_event("note:delete", Role.NOTE_TAKER)
def on_delete(payload, meeting):
    note = _note_in(meeting, payload["note_id"])
    note = NoteStream(get_db()).delete_note(note.id, payload["version"])
    data = note_to_dict(note)
    socketio.emit("note:updated", data, to=room_of(meeting.id))
    return {"ok": True, "note": data}


@live_event("term:keep", Role.NOTE_TAKER, rate="note")
def on_keep_term(payload, meeting):
    """Undo a false positive: keep ``term`` in this series and store the note again from its original text.

    The server never stores what a note said before anonymization; only the
    browser that sent the note still holds it, so only the note's author may do this.
    """
    from roundtable.services.anonymize import keep_term

    note = _note_in(meeting, payload["note_id"])
    account = current_account()
    if note.author_id != account.id:
        raise Forbidden("only the author of a note can keep a term in it: only their browser has the original text")
    term = payload["term"].strip()
    if not term or term not in payload["text"]:
        raise ValidationError("the term to keep does not occur in the note's original text")
    db = get_db()
    # Not committed on its own: a stale or closed note keeps nothing.
    keep_term(db, meeting.series_id, term, account.id)
    stream = _writing_stream(db)
    note = stream.edit_note(note.id, payload["version"], text=payload["text"])
    data = note_to_dict(note)
    socketio.emit("note:updated", data, to=room_of(meeting.id))
    _after_save(note.id, meeting.series_id, meeting.id)
    return {"ok": True, "note": data}


def _note_in(meeting, note_id) -> Note:
    note = get_db().get(Note, note_id)
    if note is None or note.session_id != meeting.id:
        raise ValidationError("no such note in this session")
    return note


def _tags_changed(meeting, note_id: int) -> dict:
    db = get_db()
    db.commit()
    note = db.get(Note, note_id)
    db.refresh(note)
    data = {"note_id": note_id, "tags": note_to_dict(note)["tags"]}
    socketio.emit("note:tags", data, to=room_of(meeting.id))
    return dict(data, ok=True)


def _writable(meeting) -> None:
    if meeting.state is not SessionState.LIVE:
        from roundtable.errors import SessionClosed

        raise SessionClosed("this session is not live; its notes are read-only")


@live_event("tag:add", Role.NOTE_TAKER)
def on_tag_add(payload, meeting):
    from roundtable.services.tagging import add_manual_tag

    _writable(meeting)
    add_manual_tag(get_db(), _note_in(meeting, payload["note_id"]).id, payload["theme_id"])
    return _tags_changed(meeting, payload["note_id"])


@live_event("tag:remove", Role.NOTE_TAKER)
def on_tag_remove(payload, meeting):
    from roundtable.services.tagging import remove_tag

    _writable(meeting)
    remove_tag(get_db(), _note_in(meeting, payload["note_id"]).id, payload["theme_id"])
    return _tags_changed(meeting, payload["note_id"])


def _tag_in(meeting, tag_id) -> NoteTag:
    tag = get_db().get(NoteTag, tag_id)
    if tag is None or tag.note.session_id != meeting.id:
        raise ValidationError("no such tag in this session")
    return tag


@live_event("tag:accept", Role.AUTHOR)
def on_tag_accept(payload, meeting):
    tag = _tag_in(meeting, payload["tag_id"])
    tag.status = TagStatus.ACCEPTED
    return _tags_changed(meeting, tag.note_id)


@live_event("tag:reject", Role.AUTHOR)
def on_tag_reject(payload, meeting):
    tag = _tag_in(meeting, payload["tag_id"])
    tag.status = TagStatus.REJECTED
    return _tags_changed(meeting, tag.note_id)


@live_event("typing", Role.NOTE_TAKER, rate="typing")
def on_typing(payload, meeting):
    socketio.emit("typing", {"session_id": meeting.id, "name": current_account().display_name,
                             "typing": payload["typing"]}, to=room_of(meeting.id), skip_sid=request.sid)
    return {"ok": True}


def on_connect(auth=None):
    """Only logged-in accounts may open a socket; what they may do is checked per event."""
    return current_account() is not None


def on_disconnect(*_args):
    for session_id in presence.leave(request.sid):
        _announce_presence(session_id)


PRESENCE_INTERVAL_S = 1.0
_presence_pending: set[int] = set()
_presence_lock = threading.Lock()


def _announce_presence(session_id: int) -> None:
    """Tell the room who is here, at most once a second.

    After a server restart every client reconnects at once; announcing each
    join to everyone would send N x N messages exactly when the server is busiest.
    """
    with _presence_lock:
        if session_id in _presence_pending:
            return
        _presence_pending.add(session_id)
    socketio.start_background_task(_presence_later, session_id)


def _presence_later(session_id: int) -> None:
    socketio.sleep(PRESENCE_INTERVAL_S)
    with _presence_lock:
        _presence_pending.discard(session_id)
    socketio.emit("presence", dict(presence.summary(session_id), session_id=session_id), to=room_of(session_id))


# --- after the live path ---------------------------------------------------------------------


def _after_save(note_id: int, series_id: int, session_id: int) -> None:
    """Queue the ``note_saved`` hook to run off the live path; tags it produced arrive as ``note:tags``."""
    app = current_app._get_current_object()
    if not app.extensions["roundtable_pm"].hook.note_saved.get_hookimpls():
        return
    worker = app.extensions.get("roundtable_after_save")
    if worker is None:
        with _worker_lock:
            worker = app.extensions.get("roundtable_after_save")
            if worker is None:
                worker = app.extensions["roundtable_after_save"] = AfterSaveWorker(app)
    worker.put(note_id, series_id, session_id)


_worker_lock = threading.Lock()
AFTER_SAVE_NICENESS = 10


class AfterSaveWorker:
    """One background task per process runs the slow ``note_saved`` work, one note after another.

    A task per note would let a burst of notes start a burst of model runs that
    compete with broadcasting for the CPU; one queue keeps that work bounded.
    """

    def __init__(self, app):
        import queue

        self.app = app
        self.queue: queue.Queue = queue.Queue(maxsize=10000)
        socketio.start_background_task(self._run)

    def put(self, note_id: int, series_id: int, session_id: int) -> None:
        import queue

        try:
            self.queue.put_nowait((note_id, series_id, session_id))
        except queue.Full:  # suggestions are a convenience; the note itself is safe
            self.app.logger.warning("note_saved queue full; skipping suggestions for note %s", note_id)

    def _run(self) -> None:
        # On Linux nice is per thread (and inherited by threads it starts, such as a model's
        # thread pool): suggestions then yield the CPU to the live path when both want it.
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), AFTER_SAVE_NICENESS)
        except (AttributeError, OSError):
            pass
        while True:
            note_id, series_id, session_id = self.queue.get()
            try:
                _run_note_saved(self.app, note_id, series_id, session_id)
            finally:
                self.queue.task_done()

    def wait_until_idle(self, timeout: float = 30) -> bool:
        """Wait for queued work to finish (tests and shutdown: nothing may touch the database after)."""
        import time

        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.queue.unfinished_tasks


def _run_note_saved(app, note_id: int, series_id: int, session_id: int) -> None:
    with app.app_context():
        try:
            app.extensions["roundtable_pm"].hook.note_saved(note_id=note_id, series_id=series_id)
            database = app.extensions["roundtable_db"]
            with database.session() as db:
                note = db.get(Note, note_id)
                if note is None:
                    return
                tags = note_to_dict(note)["tags"]
            socketio.emit("note:tags", {"note_id": note_id, "tags": tags}, to=writers_room_of(session_id))
        except Exception:  # a plugin's failure must not reach the note-taker; the note is safe
            app.logger.exception("note_saved hook failed for note %s", note_id)


def broadcast_session_state(meeting: Meeting) -> None:
    """Tell everyone in the room that the session opened or closed (pages switch to read-only)."""
    socketio.emit("session:state", {"session_id": meeting.id, "state": meeting.state.value}, to=room_of(meeting.id))


def init_app(app) -> None:
    """Register the blueprint and bind the socket handlers to this app's Socket.IO server."""
    app.register_blueprint(bp)
    server_socketio = app.extensions["socketio"]
    server_socketio.on_event("connect", on_connect)
    server_socketio.on_event("disconnect", on_disconnect)
    for name, handler in _EVENTS.items():
        server_socketio.on_event(name, handler)
