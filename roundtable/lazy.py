"""Import a heavy module on first use, so that the live server does not pay for what only workers use.

The web server loads every plugin; suggesters use NumPy (and scikit-learn and
SciPy, about 120 MB together) that the server itself never calls: suggestions
run in the worker process. ``np = lazy_module("numpy")`` at the top of a plugin
keeps the familiar name and imports NumPy when an attribute is first read.
"""

from __future__ import annotations

import importlib


class lazy_module:  # noqa: N801 - used like the module it stands for
    """Stands for module ``name``; the import happens on the first attribute read.

    A plain object rather than ``importlib.util.LazyLoader``: pluggy inspects every
    name of a plugin module, and a lazy *module* would be imported by that look.
    """

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str):
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
