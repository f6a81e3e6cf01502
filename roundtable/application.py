"""The application object: what services and plugin hooks receive, as Datasette's hooks receive ``datasette``.

``create_app`` builds one :class:`Roundtable` per Flask app and keeps it in
``app.extensions["roundtable"]``. Everything that used to be process-wide (a
plugin manager, a fallback salt) is now per object, so two apps in one
process never share plugins, secrets or caches. It holds no Flask state, so
benchmarks and unit tests build one without a web app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy
from flask import current_app

from roundtable.db import Database
from roundtable.jobs import JobRunner
from roundtable.plugins import build_plugin_manager


class Roundtable:
    """One application: its settings, its secret, its database, its plugins and its background jobs.

    ``settings`` is the app's configuration (``SECRET_KEY`` and
    ``DATABASE_URL`` are required). ``plugins``, when given, are registered
    instead of the default ones (tests use it to run with exactly one suggester).
    """

    def __init__(self, settings: Mapping[str, Any], *, plugins=None):
        if not settings.get("SECRET_KEY"):
            raise ValueError("a Roundtable needs a SECRET_KEY: it keys pseudonyms and encrypts the roster")
        self.settings = settings
        self.secret: str = settings["SECRET_KEY"]
        self.database = Database(settings["DATABASE_URL"], secret_key=self.secret,
                                 pool_size=settings.get("DATABASE_POOL_SIZE", 10),
                                 pool_timeout=settings.get("DATABASE_POOL_TIMEOUT", 30))
        self.pm: pluggy.PluginManager = build_plugin_manager(
            disabled=settings.get("DISABLED_PLUGINS") or (),
            plugins_dir=settings.get("PLUGINS_DIR"),
            plugins=plugins,
        )
        self.jobs = JobRunner()  # exports and drafting runs, off the request path

    def pseudonym_salt(self, scope: int | str) -> bytes:
        """The key of pseudonyms in ``scope`` (a series id; ``"files"`` for ``roundtable anonymize``).

        Derived from the secret, so another installation, or anyone with a list
        of names, cannot recompute which pseudonym stands for whom.
        """
        return f"{self.secret!r}:{scope}".encode()

    def collect(self, hook_name: str) -> list:
        """Call a ``register_*`` hook and return everything registered, newest plugin first.

        Pluggy calls the newest plugin first, so for a given key the first item
        wins and a plugin loaded after the built-ins overrides them.
        """
        items: list = []
        getattr(self.pm.hook, hook_name)(roundtable=self, register=items.append)
        return items


def current_roundtable() -> Roundtable:
    """The application object of the Flask app handling this request or command."""
    return current_app.extensions["roundtable"]
