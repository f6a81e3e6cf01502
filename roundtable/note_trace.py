"""Where a live note's time goes: a timestamp per stage of each ``note:add``, for ``bench/live_latency.py --stages``.

Off unless ``ROUNDTABLE_NOTE_TRACE`` names a file (the bench sets it for the servers it starts); then every
server process appends one line per stage, ``<time> <pid> <uuid> <stage>``, and one line per garbage
collection, ``<time> <pid> gc <generation> <seconds>``. Off, :func:`mark` is one global lookup. Nothing here
reaches the production logs.

Stages, in order: ``received`` (the event reached its handler), ``turn`` (its database turn began),
``checked`` (account, membership and rate limit read), ``anonymized``, ``stored`` (committed), ``published``
(sent to this process's sockets' queues and to Redis), then in every process ``fan_out`` (the note came to the
Socket.IO manager: at once in the sender's process, from Redis in the other) and ``queued`` (it is in every
local socket's queue), and ``answered`` (the handler returned its acknowledgement).
"""

from __future__ import annotations

import gc
import os
import time

PATH = os.environ.get("ROUNDTABLE_NOTE_TRACE") or None
_out = None


def _write(line: str) -> None:
    global _out
    if _out is None:
        _out = open(PATH, "a", buffering=1)  # one line per write(): processes share the file (O_APPEND)
    _out.write(line)


def mark(note_uuid, stage: str) -> None:
    """Record that ``note_uuid``'s note reached ``stage`` now (nothing when tracing is off)."""
    if PATH is not None and isinstance(note_uuid, str):
        _write(f"{time.time():.6f} {os.getpid()} {note_uuid} {stage}\n")


def watch_server(socketio) -> None:
    """Trace the fan-out of every ``note:added`` in this process and time its garbage collections."""
    if PATH is None:
        return
    manager = socketio.server.manager
    handle_emit = manager._handle_emit

    def traced_handle_emit(message):
        data = message.get("data")
        note = data[0] if message.get("event") == "note:added" and isinstance(data, list) and data else None
        note_uuid = note.get("uuid") if isinstance(note, dict) else None
        mark(note_uuid, "fan_out")
        handle_emit(message)
        mark(note_uuid, "queued")

    manager._handle_emit = traced_handle_emit
    started = {}

    def timed(phase, info):
        if phase == "start":
            started["at"] = time.perf_counter()
        elif "at" in started:
            _write(f"{time.time():.6f} {os.getpid()} gc {info['generation']} "
                   f"{time.perf_counter() - started.pop('at'):.6f}\n")

    gc.callbacks.append(timed)
