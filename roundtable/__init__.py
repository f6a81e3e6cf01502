"""Roundtable: live anonymized shared notes and brief synthesis for unrecorded series.

The plugin interface is importable from here: ``hookimpl`` and the types hooks
register (:mod:`roundtable.types`), as ``llm.Model`` is importable from ``llm``.
The objects hooks are given (``Roster``, ``Codebook``, ``BriefContext``) are
importable from here too, loaded on first use so that a plugin importing
``hookimpl`` does not load the database layer.
"""

import importlib

import pluggy

from roundtable.types import BriefDocument, BriefSection, Example, Exporter, Span, Suggestion
from roundtable.version import __version__


hookimpl = pluggy.HookimplMarker("roundtable")

# Name -> module of the objects hooks receive, imported when first asked for (PEP 562).
_RECEIVED = {
    "Roster": "roundtable.services.anonymize.roster",
    "Codebook": "roundtable.services.codebook",
    "ThemeSpec": "roundtable.services.codebook",
    "BriefContext": "roundtable.services.briefs.context",
}


def __getattr__(name):
    if name in _RECEIVED:
        return getattr(importlib.import_module(_RECEIVED[name]), name)
    raise AttributeError(f"module 'roundtable' has no attribute {name!r}")


def create_app(config=None, plugins=None):
    """Build the Flask application.

    The app is imported on call (lazy): a plugin imports ``hookimpl`` without it, and
    ``python -m roundtable.server`` lets gevent patch the standard library before Flask loads.
    """
    from roundtable.app import create_app as _create_app

    return _create_app(config, plugins)


__all__ = [
    "BriefContext", "BriefDocument", "BriefSection", "Codebook", "Example", "Exporter", "Roster", "Span",
    "Suggestion", "ThemeSpec", "__version__", "create_app", "hookimpl",
]
