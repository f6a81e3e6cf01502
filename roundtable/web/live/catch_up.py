"""One catch-up read for the pages that rejoin a session at the same moment.

After a restart every open page rejoins at once (500 per process in the bench), most after the same
seq, and each one read and serialized the same notes again (py-spy after a kill: the catch-up query
38 %, ``on_join`` 33 % of the server's time). Now the pages of one session and audience that ask while a
read of theirs is under way (or waits for a database turn) wait together for the next; the first of
them reads once, from the lowest ``after`` (and the lowest ``changes_after``) among them, and each
gets only the notes it asked for.

Why a shared read is as good as a page's own: a page asks only after it joined the room, and a batch
closes when its read starts, so every page it answers joined the room before the read began; a note
stored after that reaches the page live, as it would after its own read. Nothing is kept once a batch
is answered: there is no cache to go stale. Batches are per audience (reviewers, who are sent theme
suggestions, or the rest), so what one may not see never comes from another's read, and the caller
checks after the read that the page's access has not ended while it waited.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, ContextManager, Hashable


@dataclass(frozen=True)
class CatchUpRead:
    """What one read found: the session's state, last seq and last change number, then its notes as sent,
    with the seq and change number each is chosen by."""

    state: str
    last_seq: int
    last_change: int
    notes: list[tuple[int, int, dict]]

    def after(self, seq: int, changes_after: int | None) -> list[dict]:
        """The notes above ``seq``, and those changed after change number ``changes_after``, in order."""
        return [note for note_seq, change, note in self.notes
                if note_seq > seq or (changes_after is not None and change > changes_after)]


@dataclass
class _Batch:
    asks: list[tuple[int, int | None]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    found: CatchUpRead | None = None
    failed: BaseException | None = None


class SharedCatchUp:
    """The batches of catch-up asks still waiting for their read, per (session, audience); one read at a time
    per key, so the asks made while one runs all share the next."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: dict[Hashable, _Batch] = {}
        self._reading: dict[Hashable, threading.Lock] = {}

    def waiting(self, key: Hashable) -> int:
        """How many asks wait for the next read of ``key``."""
        with self._lock:
            batch = self._waiting.get(key)
            return len(batch.asks) if batch else 0

    def read(self, key: Hashable, after: int, changes_after: int | None,
             read: Callable[[int, int | None], CatchUpRead], turn: Callable[[], ContextManager]) -> CatchUpRead:
        """The read that answers this ask: call it only after the page joined the room.

        The first ask of a batch waits for the read of ``key`` under way and for a database ``turn``,
        then calls ``read(after, changes_after)`` once for every ask made until then; the others wait
        for it. Filter with :meth:`CatchUpRead.after`.
        """
        with self._lock:
            batch = self._waiting.get(key)
            leads = batch is None
            if leads:
                batch = self._waiting[key] = _Batch()
            batch.asks.append((after, changes_after))
            reading = self._reading.setdefault(key, threading.Lock())
        if leads:
            try:
                with reading, turn():
                    with self._lock:
                        del self._waiting[key]  # closed: an ask from now on waits for the next read
                    lowest = min(seq for seq, _ in batch.asks)
                    changes = [change for _, change in batch.asks if change is not None]
                    batch.found = read(lowest, min(changes) if changes else None)
            except BaseException as exc:
                batch.failed = exc
                raise
            finally:
                with self._lock:  # failed before its read: the next ask starts a new batch
                    if self._waiting.get(key) is batch:
                        del self._waiting[key]
                batch.done.set()
        else:
            batch.done.wait()
        if batch.found is None:
            raise RuntimeError("the shared catch-up read failed") from batch.failed
        return batch.found
