"""Socket.IO rooms and what each is sent: every note to the session's room, theme suggestions only to
the people who can accept or reject them.

A viewer's or note-taker's socket is never sent a suggestion (theme names and scores it may not act on),
and nobody is sent one below its floor (three chips at 5-17 % on every note are noise): each series has its
own floor per suggester, computed from its coded notes (:mod:`roundtable.services.suggestion_floor`), unless
an operator fixed one (``SUGGESTION_FLOOR``).
"""

from __future__ import annotations

from roundtable.extensions import socketio
from roundtable.models import Role
from roundtable.services.accounts import has_role
from roundtable.services.suggestion_floor import ChipFloor


def room_of(session_id: int) -> str:
    """Everyone on the session's page."""
    return f"session-{session_id}"


def reviewers_room_of(session_id: int) -> str:
    """Authors and up: they accept or reject suggestions, so they alone are sent them."""
    return f"{room_of(session_id)}/reviewers"


def readers_room_of(session_id: int) -> str:
    """Everyone else (viewers, note-takers): sent a note's tags without its suggestions."""
    return f"{room_of(session_id)}/readers"


def may_review(role: Role) -> bool:
    return has_role(role, Role.AUTHOR)


def shown_tags(tags: list[dict], reviewer: bool, floor: ChipFloor) -> list[dict]:
    """The tags one audience is sent: suggestions only to reviewers, and only from their suggester's floor up
    (``floor(source)``)."""
    return [t for t in tags if t["status"] != "suggested" or (reviewer and t["confidence"] >= floor(t["source"]))]


def shown(data: dict, reviewer: bool, floor: ChipFloor) -> dict:
    """A note (or a ``note:tags`` body) as one audience sees it; ``data`` itself when nothing is held back."""
    tags = shown_tags(data["tags"], reviewer, floor)
    return data if len(tags) == len(data["tags"]) else {**data, "tags": tags}


def emit_to_session(event: str, data: dict, session_id: int, floor: ChipFloor) -> None:
    """Send a note or its tags to the session: one send to the whole room unless it carries suggestions."""
    if not any(t["status"] == "suggested" for t in data["tags"]):
        socketio.emit(event, data, to=room_of(session_id))
        return
    socketio.emit(event, shown(data, False, floor), to=readers_room_of(session_id))
    socketio.emit(event, shown(data, True, floor), to=reviewers_room_of(session_id))
