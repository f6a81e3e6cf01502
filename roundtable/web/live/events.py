"""The live stream's Socket.IO events: one guarded, schema-checked handler per event.

One room per session (``session-<id>``). Every event carries one JSON object
with ``session_id``, is guarded by :func:`roundtable.web.authorization.socket_access`
and is validated against a JSON schema before anything happens; a bad payload
gets an ``error`` event (and the same body as its acknowledgement) and changes
nothing.

Client -> server (acknowledged):
    session:join   {session_id, after, changes_after?} -> {state, last_seq, last_change, notes, presence, you}
                   (changes_after: the last_change of the page's previous join; it gets the notes changed since)
    notes:since    {session_id, after, before?}   -> {state, last_seq, notes}  (before: only seqs below it)
    note:preview   {session_id, text, names?, speaker_role?} -> {ok, text, replacements, changes}  (stores and sends nothing)
    note:add       {session_id, uuid, text, kind, speaker_role?, themes?, names?}  -> {ok, id, seq, note}
    note:edit      {session_id, note_id, version, text?, kind?, speaker_role?, names?} -> {ok, note} | {code: 409, current}
    note:delete    {session_id, note_id, version} -> {ok, note}
    term:keep      {session_id, note_id, version, term, text, names?}  -> {ok, note} | {code: 409, current}
    tag:add / tag:remove {session_id, note_id, theme_id};  tag:accept / tag:reject {session_id, tag_id}
    typing         {session_id, typing}
``names`` are words the writer marked as names in the composer (lower-case or
unusual names no detector finds): replaced like any name, stored nowhere, except that a facilitator's
go on the series' roster (``add_marked_people``; the reply's ``added_to_roster`` lists the names added).

Server -> room:
    note:added, note:updated, note:tags, presence, typing, session:state, error
A note's suggested tags go only to authors and up, from the series' floor up (:mod:`.rooms`), in replies too.
"""

from __future__ import annotations

import functools
import flask_socketio
import jsonschema
from flask import current_app, g, request
from flask_socketio import join_room

from roundtable import note_trace
from roundtable.application import current_roundtable
from roundtable.db import get_db, without_transaction
from roundtable.errors import Conflict, Forbidden, RoundtableError, SessionClosed, ValidationError
from roundtable.extensions import socketio
from roundtable.models import NOTE_KINDS, Note, NoteTag, Role, Session, SessionState
from roundtable.services.accounts import has_role
from roundtable.services.anonymize import anonymizer_for_series, keep_term
from roundtable.services.anonymize.roster import add_marked_people
from roundtable.services.notes import (MAX_MARKED_NAMES, NoteStream, StaleEdit, has_lone_surrogate, not_live_message,
                                      note_to_dict)
from roundtable.services.suggestion_floor import chip_floor
from roundtable.services.tagging import (SUGGESTION_GONE, accept_suggestion, add_manual_tag, reject_suggestion,
                                         remove_tag)
from roundtable.web.authorization import AfterTurn, current_account, socket_access, socket_error, socket_turn
from roundtable.web.live.after_save import after_save
from roundtable.web.live.catch_up import CatchUpRead, SharedCatchUp
from roundtable.web.live.presence import announce_presence, connections, presence
from roundtable.web.live.rooms import emit_to_session, may_review, readers_room_of, reviewers_room_of, room_of, shown
from roundtable.web.revocation import forget_socket, socket_is_open, track_socket

_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
_SEQ = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
_UUID = {"type": "string", "pattern": "^[0-9a-fA-F-]{32,36}$"}
_ROLE = {"type": ["string", "null"], "maxLength": 120}
_TEXT = {"type": "string", "maxLength": 20000}
_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 100}, "maxItems": MAX_MARKED_NAMES}


def _schema(required, **properties):
    return {"type": "object", "required": ["session_id", *required], "additionalProperties": False,
            "properties": {"session_id": _ID, **properties}}


SCHEMAS = {
    # changed_since: sent by pages loaded before change numbers; they are given every changed note.
    "session:join": _schema([], after=_SEQ, changes_after=_SEQ,
                            changed_since={"type": "string", "format": "date-time", "maxLength": 40}),
    "notes:since": _schema(["after"], after=_SEQ, before=_SEQ),
    "note:preview": _schema(["text"], text=_TEXT, names=_NAMES, speaker_role=_ROLE),
    "note:add": _schema(
        ["uuid", "text"], uuid=_UUID, text=_TEXT,
        kind={"enum": list(NOTE_KINDS)}, speaker_role=_ROLE,
        themes={"type": "array", "items": _ID, "maxItems": 20, "uniqueItems": True}, names=_NAMES,
    ),
    "note:edit": _schema(
        ["note_id", "version"], note_id=_ID, version=_ID, text={"type": "string", "maxLength": 20000},
        kind={"enum": list(NOTE_KINDS)}, speaker_role=_ROLE, names=_NAMES,
    ),
    "note:delete": _schema(["note_id", "version"], note_id=_ID, version=_ID),
    "term:keep": _schema(
        ["note_id", "version", "term", "text"], note_id=_ID, version=_ID,
        term={"type": "string", "minLength": 1, "maxLength": 100}, text=_TEXT, names=_NAMES,
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
    return NoteStream(db, current_roundtable(), max_length=current_app.config["MAX_NOTE_LENGTH"])




def _fail(exc: RoundtableError) -> dict:
    """Turn a user error into an ``error`` event; the acknowledgement carries the same body."""
    code = getattr(exc, "http_status", 400)
    body = socket_error(code, str(exc))
    if isinstance(exc, SessionClosed):
        body["reason"] = "session-closed"  # not a conflict to resolve: the outbox stops and says why
    if isinstance(exc, StaleEdit):
        body["current"] = {"note_id": exc.note_id, "text": exc.current_text, "version": exc.current_version,
                           "deleted": exc.deleted}
    return body


def live_event(name: str, minimum: Role, rate: str | None = None, without_transaction_if=None):
    """Register a guarded, schema-checked handler for ``name``; user errors become ``error`` events.
    ``without_transaction_if``: see :func:`roundtable.web.authorization.socket_access`."""

    def decorator(handler):
        @functools.wraps(handler)
        def checked(payload, *args):
            errors = sorted(_VALIDATORS[name].iter_errors(payload), key=lambda e: list(e.path))
            if errors:
                where = ".".join(str(p) for p in errors[0].path) or "message"
                return socket_error(400, f"invalid {name} message: {where}: {_short(errors[0].message)}")
            if any(has_lone_surrogate(v) for v in payload.values() if isinstance(v, str)):
                return socket_error(400, f"invalid {name} message: it contains half a character "
                                         "(an unpaired UTF-16 surrogate)")
            try:
                return handler(payload, g.meeting)
            except RoundtableError as exc:
                get_db().rollback()
                return _fail(exc)

        guarded = socket_access(minimum, rate=rate, without_transaction_if=without_transaction_if)(checked)
        EVENTS[name] = guarded
        return guarded

    return decorator


def _short(message: str) -> str:
    return message if len(message) < 120 else message[:117] + "..."


EVENTS: dict = {}


catch_ups = SharedCatchUp()


# An event that only reads needs no transaction: each read sees what is committed when it runs, as in
# READ COMMITTED's transaction, without its BEGIN and ROLLBACK round trips.
@live_event("session:join", Role.VIEWER, without_transaction_if=True)
def on_join(payload, meeting):
    """Join the room, then catch up: one read for every page of this audience (reviewers or the rest)
    rejoining at the same moment (:mod:`roundtable.web.live.catch_up`), waited for after this event's
    database turn."""
    account = current_account()
    join_room(room_of(meeting.id))
    join_room(reviewers_room_of(meeting.id) if may_review(g.role) else readers_room_of(meeting.id))
    presence.join(meeting.id, request.sid, account.id, account.display_name, has_role(g.role, Role.NOTE_TAKER))
    summary = presence.summary(meeting.id)
    announce_presence(meeting.id)
    you = {"id": account.id, "name": account.display_name, "role": g.role.value}
    after, changes_after = payload.get("after", 0), payload.get("changes_after")
    if changes_after is None and "changed_since" in payload:
        changes_after = 0
    session_id, sid, reviewer = meeting.id, request.sid, may_review(g.role)

    def catch_up():
        found = catch_ups.read((session_id, reviewer), after, changes_after, functools.partial(_read, session_id),
                               socket_turn)
        if not socket_is_open(sid):  # closed or revoked while it waited: nothing
            return socket_error(403, "your access to this session ended")
        return {"ok": True, "state": found.state, "last_seq": found.last_seq, "last_change": found.last_change,
                "notes": found.after(after, changes_after), "presence": summary, "you": you}

    return AfterTurn(catch_up)


def _read(session_id: int, after: int, changes_after: int | None) -> CatchUpRead:
    """One catch-up read, as this audience sees it: the session's state, last seq and last change number
    first, so no seq or change up to them is missing below (:mod:`roundtable.services.note_changes`)."""
    db = get_db()
    without_transaction(db)
    meeting = db.get(Session, session_id)
    notes = NoteStream(db, current_roundtable()).notes_after(session_id, after, changes_after=changes_after)
    shown_notes = [(n.seq, n.change_seq, _shown(note_to_dict(n))) for n in notes]
    return CatchUpRead(meeting.state.value, meeting.last_seq, meeting.last_change_seq, shown_notes)


@live_event("notes:since", Role.VIEWER, without_transaction_if=True)
def on_since(payload, meeting):
    notes = NoteStream(get_db(), current_roundtable()).notes_after(meeting.id, payload["after"],
                                                                   before=payload.get("before"))
    return {"ok": True, "state": meeting.state.value, "last_seq": meeting.last_seq,
            "notes": [_shown(note_to_dict(n)) for n in notes]}


def _shown(data: dict) -> dict:
    """A note or tags body as the current socket's role may see it (no suggestions below author)."""
    return shown(data, may_review(g.role), _chip_floor)


def _emit(event: str, data: dict, session_id: int) -> None:
    emit_to_session(event, data, session_id, _chip_floor)


def _chip_floor(source: str) -> float:
    """The floor of a suggestion from ``source`` in this event's series; read only for a suggestion, so a new
    note (which has none) never reads the series again after its commit."""
    return chip_floor(g.meeting.series.suggestion_floors, current_app.config["SUGGESTION_FLOOR"])(source)


@live_event("note:preview", Role.NOTE_TAKER, rate="preview")
def on_preview(payload, meeting):
    """What the composer's text would be stored as: to the writer only; nothing is stored or broadcast."""
    preview = _writing_stream(get_db()).preview_note(meeting.id, payload["text"], payload.get("names") or (),
                                                     payload.get("speaker_role"))
    return {"ok": True, **preview}


def _stores_one_row(payload) -> bool:
    """A note without themes or marked names (a facilitator's go on the roster) is one statement's write."""
    return not payload.get("themes") and not payload.get("names")


@live_event("note:add", Role.NOTE_TAKER, rate="note", without_transaction_if=_stores_one_row)
def on_add(payload, meeting):
    note_trace.mark(payload["uuid"], "checked")
    stream = _writing_stream(get_db())
    # The note and the themes its writer chose are stored together, or not at all. Nothing of this event is
    # written before the note (the access check and the rate limit only read), so it may commit alone; a
    # note that stores one row runs outside a transaction altogether (_stores_one_row).
    note, created = stream.add_note(meeting.id, payload["uuid"], payload["text"], payload.get("kind") or "point",
                                    payload.get("speaker_role"), current_account().id,
                                    marked=payload.get("names") or (), themes=payload.get("themes") or (),
                                    commit_alone=True)
    note_trace.mark(payload["uuid"], "stored")
    data = note_to_dict(note)
    if created:
        _emit("note:added", data, meeting.id)
        note_trace.mark(payload["uuid"], "published")
        after_save(note.id, meeting.series_id, meeting.id)
    # A resent note (its uuid stored already) adds nothing to the roster: its marks were checked the first time.
    return {"ok": True, "id": note.id, "seq": note.seq, "uuid": note.uuid, "note": _shown(data),
            "added_to_roster": _remember_marked(payload, meeting) if created else []}


@live_event("note:edit", Role.NOTE_TAKER, rate="note")
def on_edit(payload, meeting):
    note = _note_in(meeting, payload["note_id"])
    stream = _writing_stream(get_db())
    if all(payload.get(k) is None for k in ("text", "kind")) and "speaker_role" not in payload:
        raise ValidationError("nothing to change")
    # A null speaker_role clears it; a missing one leaves it as it is.
    role = (payload["speaker_role"] or "") if "speaker_role" in payload else None
    note = stream.edit_note(note.id, payload["version"], text=payload.get("text"), kind=payload.get("kind"),
                            speaker_role=role, marked=payload.get("names") or ())
    data = note_to_dict(note)
    _emit("note:updated", data, meeting.id)
    if payload.get("text") is not None:
        after_save(note.id, meeting.series_id, meeting.id)
    return {"ok": True, "note": _shown(data), "added_to_roster": _remember_marked(payload, meeting)}


def _remember_marked(payload, meeting) -> list[str]:
    """A facilitator's marks go on the series' roster once the note is stored: later notes replace them too.
    A note-taker's marks hold for their note only (they may mark a word that is not a name)."""
    if not payload.get("names") or not has_role(g.role, Role.FACILITATOR):
        return []
    db = get_db()
    added = add_marked_people(db, meeting.series, payload["names"])
    db.commit()
    return added


@live_event("note:delete", Role.NOTE_TAKER)
def on_delete(payload, meeting):
    note = _note_in(meeting, payload["note_id"])
    note = NoteStream(get_db(), current_roundtable()).delete_note(note.id, payload["version"])
    data = note_to_dict(note)
    _emit("note:updated", data, meeting.id)
    return {"ok": True, "note": _shown(data)}


@live_event("term:keep", Role.NOTE_TAKER, rate="note")
def on_keep_term(payload, meeting):
    """Undo a false positive: keep ``term`` in this series and store the note again from its original text.

    The server never stores what a note said before anonymization; only the
    browser that sent the note still holds it, so only the note's author may do this.
    """
    note = _note_in(meeting, payload["note_id"])
    account = current_account()
    if note.author_id != account.id:
        raise Forbidden("only the author of a note can keep a term in it: only their browser has the original text")
    term = payload["term"].strip()
    if not term or term not in payload["text"]:
        raise ValidationError("the term to keep does not occur in the note's original text")
    db = get_db()
    # Not committed on its own: a stale or closed note keeps nothing.
    stream = _writing_stream(db)
    anonymizer = anonymizer_for_series(db, meeting.series, current_roundtable())
    # the note was stored with the session's memory of names: a word found through it can be kept too
    keep_term(db, meeting.series_id, term, account.id,
              from_note=(anonymizer, payload["text"], stream.name_memory(anonymizer, meeting, [payload["text"]])))
    # The names the writer marked when sending travel again: the original text still holds them.
    note = stream.edit_note(note.id, payload["version"], text=payload["text"], marked=payload.get("names") or ())
    data = note_to_dict(note)
    _emit("note:updated", data, meeting.id)
    after_save(note.id, meeting.series_id, meeting.id)
    return {"ok": True, "note": _shown(data)}


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
    data = {"note_id": note_id, "change": note.change_seq, "tags": note_to_dict(note)["tags"]}
    _emit("note:tags", data, meeting.id)
    return dict(_shown(data), ok=True)


def _writable(meeting) -> None:
    if meeting.state is not SessionState.LIVE:
        raise SessionClosed(not_live_message(meeting))


@live_event("tag:add", Role.NOTE_TAKER, rate="tag")
def on_tag_add(payload, meeting):
    _writable(meeting)
    add_manual_tag(get_db(), _note_in(meeting, payload["note_id"]).id, payload["theme_id"])
    return _tags_changed(meeting, payload["note_id"])


@live_event("tag:remove", Role.NOTE_TAKER, rate="tag")
def on_tag_remove(payload, meeting):
    _writable(meeting)
    remove_tag(get_db(), _note_in(meeting, payload["note_id"]).id, payload["theme_id"])
    return _tags_changed(meeting, payload["note_id"])


def _tag_in(meeting, tag_id) -> NoteTag:
    tag = get_db().get(NoteTag, tag_id)
    if tag is None:
        raise Conflict(SUGGESTION_GONE)
    if tag.note.session_id != meeting.id:
        raise ValidationError("no such tag in this session")
    return tag


@live_event("tag:accept", Role.AUTHOR, rate="tag")
def on_tag_accept(payload, meeting):
    _writable(meeting)
    tag = accept_suggestion(get_db(), _tag_in(meeting, payload["tag_id"]).id, meeting.series_id)
    return _tags_changed(meeting, tag.note_id)


@live_event("tag:reject", Role.AUTHOR, rate="tag")
def on_tag_reject(payload, meeting):
    _writable(meeting)
    tag = reject_suggestion(get_db(), _tag_in(meeting, payload["tag_id"]).id, meeting.series_id)
    return _tags_changed(meeting, tag.note_id)


@live_event("typing", Role.NOTE_TAKER, rate="typing")
def on_typing(payload, meeting):
    _writable(meeting)  # nobody types in a closed session: the page is told so, the room nothing
    socketio.emit("typing", {"session_id": meeting.id, "name": current_account().display_name,
                             "typing": payload["typing"]}, to=room_of(meeting.id), skip_sid=request.sid)
    return {"ok": True}


def on_connect(auth=None):
    """Only logged-in accounts may open a socket; what they may do is checked per event.

    Past ``MAX_CONNECTIONS`` (``roundtable serve --max-connections``) a connection is refused
    with a message (the page shows it) and a log line, never left hanging.
    """
    with socket_turn():
        account = current_account()
    if account is None:
        # Logged out (or the password changed) while the page could not be told: code 401 sends it to the login.
        raise flask_socketio.ConnectionRefusedError("your login has ended: log in again", {"code": 401})
    limit = current_app.config.get("MAX_CONNECTIONS")
    if not connections.open(request.sid, limit):
        current_app.logger.warning("refused a live connection: %s open, the limit is %s (roundtable serve "
                                   "--max-connections)", connections.count, limit)
        raise flask_socketio.ConnectionRefusedError("the server is full; try again in a minute")
    track_socket(request.sid, account.id)
    return True


def on_disconnect(*_args):
    connections.close(request.sid)
    forget_socket(request.sid)
    for session_id in presence.leave(request.sid):
        announce_presence(session_id)
