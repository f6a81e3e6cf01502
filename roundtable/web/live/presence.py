"""Who is connected to which session, per process (see docs/deployment.md), and the throttled announcement."""

from __future__ import annotations

import threading

from roundtable import jobs
from roundtable.extensions import socketio
from roundtable.web.live.rooms import room_of


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


class Connections:
    """The open sockets of this process, against the limit that the server's thread count sets."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open: set[str] = set()

    @property
    def count(self) -> int:
        return len(self._open)

    def open(self, sid: str, limit: int | None) -> bool:
        with self._lock:
            if limit is not None and len(self._open) >= limit:
                return False
            self._open.add(sid)
            return True

    def close(self, sid: str) -> None:
        with self._lock:
            self._open.discard(sid)


connections = Connections()


PRESENCE_INTERVAL_S = 1.0
_presence_pending: set[int] = set()
_presence_lock = threading.Lock()


def announce_presence(session_id: int) -> None:
    """Tell the room who is here, at most once a second.

    After a server restart every client reconnects at once; announcing each
    join to everyone would send N x N messages exactly when the server is busiest.
    """
    with _presence_lock:
        if session_id in _presence_pending:
            return
        _presence_pending.add(session_id)
    jobs.later(PRESENCE_INTERVAL_S, _announce, session_id)


def _announce(session_id: int) -> None:
    with _presence_lock:
        _presence_pending.discard(session_id)
    socketio.emit("presence", dict(presence.summary(session_id), session_id=session_id), to=room_of(session_id))
