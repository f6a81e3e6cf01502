"""Socket.IO room names: one room per session, and a smaller one for note-takers and up."""


def room_of(session_id: int) -> str:
    return f"session-{session_id}"


def writers_room_of(session_id: int) -> str:
    """Note-takers and up: the only ones who act on theme suggestions, so the only ones sent them.

    Sending suggestions to every viewer would double the fan-out of a busy session for nothing.
    """
    return f"{room_of(session_id)}/writers"
