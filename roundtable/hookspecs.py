"""Roundtable's hook specifications: the whole plugin interface in one place.

Every hook receives ``roundtable``, the application object
(:class:`roundtable.application.Roundtable`: ``settings``, ``secret``,
``database``, ``pm``), as Datasette's hooks receive ``datasette``; a plugin
declares only the arguments it uses. The ``register_*`` hooks follow the
*register callback* pattern (as in ``llm``'s ``register_models``): the core
calls the hook with a ``register`` function and each plugin calls it once per
thing it contributes. Built-in behaviour ships as ordinary plugins in
``roundtable_plugins`` and uses exactly these hooks.

Write a plugin with ``from roundtable import hookimpl``; see ``docs/plugins.md``.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("roundtable")


@hookspec
def register_detectors(roundtable, register):
    """Contribute identity detectors to the anonymization pipeline.

    Called once when the anonymizer is built for a series. Call
    ``register(detector)`` for each detector. A detector has a ``name`` (str),
    ``detect(texts: list[str], roster: Roster) -> list[list[Span]]`` returning,
    for each text, the spans it found (``roundtable.Span``:
    start, end, kind, confidence, detector, and the roster participant if known),
    and ``status() -> str | None``, a sentence saying why it is switched off
    (for example a missing model) or ``None`` when it works. A detector that
    only matches patterns (microseconds a note) may set ``quick = True``: when
    every detector is quick, the live server runs them in place instead of in
    its detection thread. The core merges overlapping spans and applies the
    series' replacement policy.
    """


@hookspec
def register_suggesters(roundtable, register):
    """Contribute theme suggesters.

    Called once when the tagging service starts. Call ``register(suggester)``
    for each. A suggester has a ``name`` and
    ``suggest(texts: list[str], codebook: Codebook, examples: list[Example]) ->
    list[list[Suggestion]]`` returning, for each text, themes ranked best first
    with a score in 0..1 (``roundtable.Suggestion``). ``examples`` are
    notes already coded (accepted tags), which a suggester may learn from. It
    runs off the live-note path, so it may be slow, but never blocks note entry.
    A suggester may also have ``status() -> str | None``, as detectors do: a
    sentence saying why it is switched off (it is then not offered, and asking
    for it gives that reason), or ``None`` when it works.
    """


@hookspec
def register_brief_sections(roundtable, register):
    """Contribute sections to brief templates.

    Called when a brief is built. Call ``register(section)`` for each
    ``roundtable.BriefSection``: a ``key``, the ``templates``
    it belongs to (``"report"``, ``"brief"`` or any other name), an ``order``
    (sections are sorted by it) and ``render(context: BriefContext) -> str``
    returning Markdown. A section registered later with the same key and
    template replaces the earlier one, so a third party can replace, add or
    reorder sections.
    """


@hookspec
def register_exporters(roundtable, register):
    """Contribute output formats for briefs.

    Call ``register(exporter)``: a ``roundtable.Exporter`` with ``name``
    (``"pdf"``), ``suffix`` (``".pdf"``), ``media_type`` and
    ``export(document: BriefDocument) -> bytes``. Brief downloads, export jobs,
    ``brief build`` and ``render`` all use these, and the anonymization export
    gate has run before any exporter is called.
    """


@hookspec
def register_commands(roundtable, cli):
    """Add commands to the ``roundtable`` command line.

    Called once at start-up with the root ``click.Group``; add commands with
    ``@cli.command()`` or ``cli.add_command(...)``.
    """


@hookspec
def register_blueprints(roundtable, register):
    """Add web pages and socket events.

    Called once by ``create_app``. Call ``register(blueprint)`` for each Flask
    blueprint. Routes must check access with ``roundtable.web.authorization``
    decorators like the built-in blueprints do.
    """


@hookspec
def plugin_status(roundtable):
    """Say whether this plugin works.

    Called for each plugin that implements it, by ``roundtable plugins``
    (``roundtable.plugins.plugin_statuses``). Return ``None`` when the plugin
    works, or one sentence saying why it is switched off and how to switch it
    on (``"off: install the extra with pip install 'roundtable[llm]'"``). A
    plugin that does not implement the hook is taken to work.
    """


@hookspec
def note_saved(roundtable, note_id: int, series_id: int):
    """Called after a note was created or edited and committed.

    Runs off the live path (in the after-save worker process), so it may be slow: the
    tagging service uses it to compute suggestions. Return value ignored.
    """
