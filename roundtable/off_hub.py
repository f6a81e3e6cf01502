"""CPU-bound steps of the live path (name detection) in a real OS thread under ``roundtable serve``'s gevent worker.

Under gevent every socket of a server process is served by one OS thread, the hub. A detector's model run
called from a socket event holds that thread: while one note is read, no other client gets an answer, a
note or a ping. :func:`start` (called by the server once gevent runs) gives the hub one native thread for
this work; :func:`call` sends a call there from a greenlet of that hub, which waits cooperatively while the
interpreter switches between the two threads every few milliseconds. Anywhere else (the threaded worker,
tests, the CLI, an export's own OS thread) the call runs in place.

One thread, so notes take turns at detection (the spaCy model took turns already: ``plugins/ner.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_pool = None
_hub = None


def start() -> None:
    """Serve :func:`call` from the current thread's gevent hub (the server's, once gevent has patched it)."""
    global _pool, _hub
    from gevent import get_hub  # lazy: gevent is there only under roundtable serve's gevent worker
    from gevent.threadpool import ThreadPool

    if _pool is None:
        _hub = get_hub()
        _pool = ThreadPool(1, hub=_hub)


def call(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, in the native thread when called on the server's hub, else in place."""
    if _pool is None:
        return fn(*args)
    from gevent._hub_local import get_hub_if_exists  # lazy: as in start()

    if get_hub_if_exists() is not _hub:
        return fn(*args)  # already off the hub (an export thread, the pool's own thread)
    return _pool.apply(fn, args)
