"""The export gate: nothing identifying leaves the system, judged on what the reader of a download sees."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from xml.etree import ElementTree

from roundtable.errors import ExportBlocked
from roundtable.services.anonymize.floor import floor_detectors
from roundtable.services.anonymize.normalize import matching_text
from roundtable.services.anonymize.roster import Roster, roster_and_kept_terms
from roundtable.services.anonymize.spans import EMAIL, NAME, PHONE, Span, merge_spans


# --- export gate ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GateFinding:
    """One place where the export gate found an identity (never the identity itself)."""

    line: int
    column: int
    kind: str

    where: str = ""  # "" for the file itself; else what the reader sees ("the rendered document")

    def __str__(self) -> str:
        return f"{self.where + ', ' if self.where else ''}line {self.line}, column {self.column} ({self.kind})"


def _as_roster(roster: Roster | Iterable | None) -> Roster:
    if roster is not None and not isinstance(roster, Roster):
        roster = Roster.from_rows(roster)
    return roster or Roster()


def gated_spans(text: str, roster: Roster | Iterable | None) -> list[Span]:
    """What may never leave the system: non-consenting roster names, emails and phone numbers.

    Kept terms do not apply: they can only undo unknown-name detections, which the gate does not judge.
    """
    roster_detector, pattern_detector = floor_detectors(case_blind=True)
    roster = _as_roster(roster)
    hidden = roster.without_consenting()
    matching = matching_text(text)
    spans = roster_detector.detect([matching.text], hidden)[0]
    credited = Roster(tuple(e for e in roster.entries if e.consent_named), False)
    if spans and credited.entries:
        # "Ana Silva" (named) is not a mention of "Ana Costa" (anonymous) just because both are Ana.
        named = [s for s in roster_detector.detect([matching.text], credited)[0] if s.kind == NAME]
        spans = [
            s for s in spans
            if not any(n.start <= s.start and s.end <= n.end and n.end - n.start > s.end - s.start for n in named)
        ]
    spans += [s for s in pattern_detector.detect([matching.text], hidden)[0] if s.kind in (EMAIL, PHONE)]
    return merge_spans([replace(s, start=start, end=end) for s in spans if s.kind in (NAME, EMAIL, PHONE)
                        for start, end in [matching.to_original(s.start, s.end)]])


def export_findings(text: str, roster: Roster | Iterable | None, where: str = "") -> list[GateFinding]:
    """Every place in ``text`` with a non-consenting roster name, an email or a phone number."""
    findings = []
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    for span in gated_spans(text, roster):
        line = _line_of(line_starts, span.start)
        findings.append(GateFinding(line + 1, span.start - line_starts[line] + 1, span.kind, where))
    return findings


class _VisibleText(HTMLParser):
    """The text of an HTML or SVG document as a reader meets it, and where its links lead."""

    HIDDEN = frozenset(("style", "script", "template"))
    BLOCKS = frozenset(("p", "div", "li", "br", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "section",
                        "header", "footer", "blockquote", "pre", "title", "text", "tspan", "dt", "dd", "figcaption"))
    ATTRIBUTES = frozenset(("href", "src", "title", "alt", "content", "aria-label", "xlink:href", "data-number"))

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")
        values = [value for name, value in attrs if name in self.ATTRIBUTES and value]
        if values:
            self.parts.append("\n" + "\n".join(values) + "\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(document: str) -> str:
    """What a reader of an HTML (or SVG, or XML) document reads: its text, entities decoded,
    without styles and scripts, plus link targets, titles and alternative texts."""
    parser = _VisibleText()
    parser.feed(document)
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts))

def _line_of(line_starts: list[int], offset: int) -> int:
    return bisect.bisect_right(line_starts, offset) - 1


def export_gate(text: str, roster: Roster | Iterable | None, *, html: str | None = None,
                values: Iterable[str] = ()) -> None:
    """Refuse to export ``text`` that names a non-consenting person or holds an email or phone.

    The gate judges what the reader sees: ``text`` (the file as written) and,
    when the file is or becomes a rendered document, its ``html`` (judged on its
    :func:`visible_text`), and ``values``, the strings a reader's program decodes
    from the file (YAML and XML escapes undone). Every text is judged on its
    matching form (:mod:`roundtable.services.anonymize.normalize`), and names that are
    also common words count in any case where they read as a name.

    ``roster`` is a :class:`Roster` or ``Participant`` rows. Raises
    :class:`roundtable.errors.ExportBlocked` whose ``findings`` list each place
    as ``line L, column C (kind)``, never the text found.
    """
    roster = _as_roster(roster)
    findings = export_findings(text, roster)
    if html is not None:
        findings += export_findings(visible_text(html), roster, where="as rendered")
    decoded = "\n".join(value for value in values if value)
    if decoded:
        findings += export_findings(decoded, roster, where="as decoded")
    if findings:
        raise ExportBlocked(findings)


def gate_series_export(db, series, text: str, *, html: str | None = None, values: Iterable[str] = ()) -> None:
    """:func:`export_gate` with ``series``' roster and kept terms: every download calls this first."""
    roster, _kept = roster_and_kept_terms(db, series)
    export_gate(text, roster, html=html, values=values)


def strings_in(data) -> list[str]:
    """Every string in a parsed YAML or JSON document (keys too): what a reader's program decodes."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for key, value in data.items() for s in (*strings_in(key), *strings_in(value))]
    if isinstance(data, (list, tuple)):
        return [s for item in data for s in strings_in(item)]
    return []


def xml_strings(document: str) -> list[str]:
    """Every text and attribute value of an XML document (entities decoded), as its reader's program sees them."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return [visible_text(document)]
    return [value for element in root.iter() for value in (element.text, element.tail, *element.attrib.values())
            if value and value.strip()]
