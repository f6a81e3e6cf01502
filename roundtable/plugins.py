"""The plugin manager: built-ins and third-party plugins load the same way.

Plugins come from the ``roundtable`` entry-point group (the built-ins in
``roundtable_plugins`` are registered there by ``pyproject.toml``) and from a
directory of local ``.py`` files (``ROUNDTABLE_PLUGINS_DIR``). Environment:

- ``ROUNDTABLE_LOAD_PLUGINS``: comma-separated names; only these entry points load.
- ``ROUNDTABLE_TRACE_PLUGINS=1``: print every hook call and result to stderr.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

import pluggy

from roundtable import hookspecs
from roundtable.errors import PluginError

ENTRY_POINT_GROUP = "roundtable"


def build_plugin_manager(disabled=(), plugins_dir=None, plugins=None) -> pluggy.PluginManager:
    """Create a plugin manager with entry-point plugins, local plugins, minus ``disabled``.

    ``plugins``, when given, are registered instead of the entry points (tests).
    Each application builds its own; there is no process-wide manager.
    """
    pm = pluggy.PluginManager("roundtable")
    pm.add_hookspecs(hookspecs)
    if plugins is not None:
        for plugin in plugins:
            pm.register(plugin)
        check_hook_names(pm)
        return pm
    for name in disabled:
        pm.set_blocked(name)
    only = os.environ.get("ROUNDTABLE_LOAD_PLUGINS")
    if only is not None:
        wanted = {n.strip() for n in only.split(",") if n.strip()}
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in wanted:
                pm.set_blocked(ep.name)
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except Exception as exc:  # a broken third-party plugin must say so, in one line
        raise PluginError(f"a plugin failed to load: {exc}") from exc
    plugins_dir = plugins_dir or os.environ.get("ROUNDTABLE_PLUGINS_DIR")
    if plugins_dir:
        load_plugins_dir(pm, Path(plugins_dir))
    check_hook_names(pm)
    if os.environ.get("ROUNDTABLE_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda msg: print(msg, end="", file=sys.stderr))
        pm.enable_tracing()
    return pm


def check_hook_names(pm: pluggy.PluginManager) -> None:
    """Refuse a hook implementation that matches no hook (a misspelt name would otherwise never run)."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc


def load_plugins_dir(pm: pluggy.PluginManager, directory: Path) -> None:
    """Register every ``*.py`` file in ``directory`` as a plugin named after the file."""
    if not directory.is_dir():
        raise PluginError(f"plugins directory {directory} does not exist")
    for path in sorted(directory.glob("*.py")):
        name = path.stem
        if pm.is_blocked(name) or pm.has_plugin(name):
            continue
        spec = importlib.util.spec_from_file_location(f"roundtable_local_plugins.{name}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise PluginError(f"local plugin {path} failed to load: {exc}") from exc
        pm.register(module, name=name)


def describe_plugins(pm: pluggy.PluginManager) -> list[dict]:
    """One dict per loaded plugin: name, version, hooks; for ``roundtable plugins``."""
    versions = {id(plugin): dist.version for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in sorted(pm.list_name_plugin()):
        if plugin is None:
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        status = getattr(plugin, "plugin_status", None)
        rows.append(
            {
                "name": name,
                "version": versions.get(id(plugin)) or getattr(plugin, "__version__", None),
                "hooks": hooks,
                "status": status() if callable(status) else None,
            }
        )
    return rows
