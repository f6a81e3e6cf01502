"""Long CPU-bound work off the request path (PDF exports, drafting with a local model) in a real OS thread.

Under ``roundtable serve``'s gevent worker a ``threading.Thread`` is a greenlet:
a one-second WeasyPrint render or a minute of a local model would then hold the
only OS thread and stall every live connection. A real thread shares the CPU the
way threads always did (the interpreter switches every few milliseconds).
Without gevent this is an ordinary daemon thread.
"""

from __future__ import annotations

import threading


def start_thread(target, name: str) -> None:
    """Run ``target()`` in a new OS thread (also when gevent has patched ``threading``)."""
    try:
        from gevent import monkey
    except ImportError:
        monkey = None
    if monkey is not None and monkey.is_module_patched("threading"):
        monkey.get_original("_thread", "start_new_thread")(target, ())
        return
    threading.Thread(target=target, daemon=True, name=name).start()
