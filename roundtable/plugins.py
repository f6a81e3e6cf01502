"""The plugin manager: built-ins and third-party plugins implement the same hooks.

The built-ins are the modules in :data:`DEFAULT_PLUGINS` (package
``roundtable_plugins``), loaded by module name as Datasette loads its own;
third-party plugins come from the ``roundtable`` entry-point group and from a
directory of local ``.py`` files (``ROUNDTABLE_PLUGINS_DIR``). Environment:

- ``ROUNDTABLE_LOAD_PLUGINS``: comma-separated names; only these plugins load.
- ``ROUNDTABLE_TRACE_PLUGINS=1``: print every hook call and result to stderr.

Built-ins renamed on 2026-11-30 (see :data:`RENAMED_PLUGINS`) are still found by
their old names in these settings, with a one-line notice.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
import logging
import os
import re
import sys
from pathlib import Path

import pluggy

from roundtable import hookspecs
from roundtable.errors import PluginError
from roundtable.version import __version__

ENTRY_POINT_GROUP = "roundtable"
BUILT_IN_PACKAGE = "roundtable_plugins"
# The built-in plugins, each registered under the last part of its module name.
DEFAULT_PLUGINS = (
    "roundtable_plugins.roster",
    "roundtable_plugins.contact_details",
    "roundtable_plugins.ner",
    "roundtable_plugins.keyword_suggester",
    "roundtable_plugins.embedding_suggester",
    "roundtable_plugins.live_suggestions",
    "roundtable_plugins.report_sections",
    "roundtable_plugins.exporters",
    "roundtable_plugins.llm_drafting",
)
# Old built-in plugin names and the names that say what the plugins do. Settings that name
# plugins (disabled, only-these) accept the old name and log a notice; the old modules are gone.
RENAMED_PLUGINS = {
    "patterns": "contact_details",
    "lexical": "keyword_suggester",
    "semantic": "embedding_suggester",
}
logger = logging.getLogger(__name__)


def current_plugin_name(name: str) -> str:
    """``name``, or the new name of a renamed built-in (saying so once per use, in one line)."""
    if name in RENAMED_PLUGINS:
        logger.warning("plugin %r is now called %r; use the new name", name, RENAMED_PLUGINS[name])
        return RENAMED_PLUGINS[name]
    return name


def build_plugin_manager(disabled=(), plugins_dir=None, plugins=None) -> pluggy.PluginManager:
    """Create a plugin manager with the built-ins, entry-point plugins and local plugins, minus ``disabled``.

    ``plugins``, when given, are registered instead of all of these (tests).
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
        pm.set_blocked(current_plugin_name(name))
    only = os.environ.get("ROUNDTABLE_LOAD_PLUGINS")
    wanted = None if only is None else {current_plugin_name(n.strip()) for n in only.split(",") if n.strip()}
    for module_name in DEFAULT_PLUGINS:
        name = module_name.rsplit(".", 1)[1]
        if pm.is_blocked(name) or (wanted is not None and name not in wanted):
            continue
        pm.register(importlib.import_module(module_name), name=name)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        # An install made when the built-ins were entry points (an old editable install) still lists
        # them, some under old names: they are loaded above, never twice.
        stale = ep.module.split(".")[0] == BUILT_IN_PACKAGE
        if (stale or (wanted is not None and ep.name not in wanted)) and not pm.has_plugin(ep.name):
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
    """Refuse a hook implementation that matches no hook (a misspelt name would otherwise never run).

    pluggy's ``check_pending`` finds them; the message names the plugin, its file and the likely hook.
    """
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        match = re.search(r"unknown hook '([^']+)'", str(exc))
        if match is None:
            raise PluginError(str(exc)) from exc
        hook = match.group(1)
        where = getattr(exc.plugin, "__file__", None)
        name = pm.get_name(exc.plugin)
        if name == str(id(exc.plugin)):  # registered without a name: pluggy made one of its id
            name = type(exc.plugin).__name__
        plugin = f"plugin '{name}'" + (f" ({where})" if where else "")
        known = [hook_name for hook_name in vars(pm.hook) if getattr(pm.hook, hook_name).spec is not None]
        close = difflib.get_close_matches(hook, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise PluginError(f"{plugin} implements '{hook}', which is not a Roundtable hook{hint}") from exc


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


def plugin_statuses(roundtable) -> dict[str, str | None]:
    """Each plugin implementing the ``plugin_status`` hook and its answer: why it is off, or ``None``."""
    arguments = {"roundtable": roundtable}
    return {
        impl.plugin_name: impl.function(*(arguments[name] for name in impl.argnames))
        for impl in roundtable.pm.hook.plugin_status.get_hookimpls()
    }


def describe_plugins(roundtable) -> list[dict]:
    """One dict per loaded plugin: name, version, hooks, status; for ``roundtable plugins``."""
    pm = roundtable.pm
    statuses = plugin_statuses(roundtable)
    versions = {id(plugin): dist.version for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in sorted(pm.list_name_plugin()):
        if plugin is None:
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        rows.append(
            {
                "name": name,
                "version": versions.get(id(plugin)) or (
                    __version__ if getattr(plugin, "__name__", None) in DEFAULT_PLUGINS
                    else getattr(plugin, "__version__", None)
                ),
                "hooks": hooks,
                "status": statuses.get(name),
            }
        )
    return rows
