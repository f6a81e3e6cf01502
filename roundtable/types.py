"""The types of the plugin interface, defined once: what hooks register and what they are given.

A plugin imports them from the package root (``from roundtable import Span,
Suggestion, hookimpl``); the core and the built-in plugins use these same
classes. The module imports nothing from Roundtable, so a plugin pays nothing
for it. The hooks that use each type are in :mod:`roundtable.hookspecs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roundtable.services.briefs.context import BriefContext


@dataclass(frozen=True, slots=True)
class Span:
    """An identifier a detector found in a text: ``text[start:end]`` is of ``kind`` (``register_detectors``).

    ``kind`` is one of ``name`` (a roster participant, ``participant_id`` set
    when the mention points at exactly one person), ``person``, ``affiliation``,
    ``email``, ``phone``, ``handle``, ``url``, or any other word, replaced by
    ``[redacted]``. ``detector`` is the detector's name.
    """

    start: int
    end: int
    kind: str
    confidence: float
    detector: str
    participant_id: int | None = None

    def as_dict(self) -> dict:
        """The public, name-free description used by ``--json`` and the API."""
        return {
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "detector": self.detector,
            "confidence": round(self.confidence, 3),
        }


@dataclass(frozen=True)
class Suggestion:
    """A theme a suggester proposes for a note, with a score in 0..1, higher is better (``register_suggesters``)."""

    theme: str
    score: float

    def to_dict(self) -> dict:
        return {"theme": self.theme, "score": round(float(self.score), 4)}


@dataclass(frozen=True)
class Example:
    """A note already coded with a theme (an accepted or manual tag), given to suggesters to learn from."""

    text: str
    theme: str
    session: int | None = None


@dataclass
class BriefSection:
    """A section of a brief template (``register_brief_sections``).

    ``render(context)`` returns the section's Markdown body; the builder adds
    the delimiting ``{#key}`` marker and the ``## title`` heading. An empty
    body leaves the section out. ``order`` places it among the template's
    sections; ``classes`` go on the heading (``unnumbered``, ``appendix``).
    """

    key: str
    title: str
    order: int
    templates: tuple[str, ...]
    render: Callable[[BriefContext], str]
    classes: tuple[str, ...] = ()


@dataclass
class BriefDocument:
    """A built brief, as exporters receive it: Markdown with front matter, and bullet id -> note ids."""

    markdown: str
    front_matter: dict
    provenance: dict[str, list[int]]
    template: str = "report"
    # Exporters show provenance (HTML footnotes, a PDF sources list) only when asked.
    show_provenance: bool = False


@dataclass(frozen=True)
class Exporter:
    """An output format for briefs (``register_exporters``): ``export(document)`` returns the file's bytes.

    ``name`` is what users choose (``--format pdf``, the download links);
    ``suffix`` ends the file name. The export gate has judged the document
    before ``export`` is called.
    """

    name: str
    suffix: str
    media_type: str
    export: Callable[[BriefDocument], bytes]
