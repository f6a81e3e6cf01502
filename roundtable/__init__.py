"""Roundtable: live anonymized shared notes and brief synthesis for unrecorded series."""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("roundtable")


def create_app(config=None, plugins=None):
    """Build the Flask application (imported lazily so plugins can import ``hookimpl`` cheaply)."""
    from roundtable.app import create_app as _create_app

    return _create_app(config, plugins)


__all__ = ["__version__", "create_app", "hookimpl"]
