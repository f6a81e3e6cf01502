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
    """One place where the export gate found an identity (never the identity itself).

    In the file as written: its ``line`` and ``column``. In a rendered document
    drawn from a draft: the draft's ``line`` the block came from (no column: the
    rendered text is not the draft's), or ``line`` 0 for what the draft's body
    does not hold (the cover, the contents, running headers).
    """

    line: int
    column: int | None
    kind: str

    where: str = ""  # "" for the file itself; else what the reader sees ("as rendered", "as decoded")

    def __str__(self) -> str:
        if self.column is None:
            if not self.line:
                return f"{self.where} on the cover, the contents or a running header ({self.kind})"
            return f"{self.where} from line {self.line} of the draft ({self.kind})"
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


def export_findings(text: str, roster: Roster | Iterable | None, where: str = "",
                    source_lines: list[tuple[int, int]] | None = None) -> list[GateFinding]:
    """Every place in ``text`` with a non-consenting roster name, an email or a phone number.

    ``source_lines`` (offset in ``text``, line of the draft; 0 outside the draft's body), ordered by
    offset, locate findings in a rendered document by the draft's lines instead of ``text``'s own.
    """
    findings = []
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    for span in gated_spans(text, roster):
        if source_lines:
            at = bisect.bisect_right([offset for offset, _line in source_lines], span.start) - 1
            findings.append(GateFinding(source_lines[at][1] if at >= 0 else 0, None, span.kind, where))
            continue
        line = _line_of(line_starts, span.start)
        findings.append(GateFinding(line + 1, span.start - line_starts[line] + 1, span.kind, where))
    return list(dict.fromkeys(findings))


class _VisibleText(HTMLParser):
    """The text of an HTML or SVG document as a reader meets it, and where its links lead."""

    HIDDEN = frozenset(("style", "script", "template"))
    BLOCKS = frozenset(("p", "div", "li", "br", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "section",
                        "header", "footer", "blockquote", "pre", "title", "text", "tspan", "dt", "dd", "figcaption"))
    ATTRIBUTES = frozenset(("href", "src", "title", "alt", "content", "aria-label", "xlink:href", "data-number"))

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.hidden = 0
        self.blocks: list[tuple[str, int]] = []  # open elements drawn from a draft's line (data-source-line)
        self.source_lines: list[tuple[int, int]] = []

    def _append(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def _entered(self, line: int) -> None:
        if not self.source_lines or self.source_lines[-1][1] != line:
            self.source_lines.append((self.length, line))

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        line = dict(attrs).get("data-source-line")
        if line and line.isdigit():
            self.blocks.append((tag, int(line)))
            self._entered(int(line))
        if tag in self.BLOCKS:
            self._append("\n")
        values = [value for name, value in attrs if name in self.ATTRIBUTES and value]
        if values:
            self._append("\n" + "\n".join(values) + "\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1
        if tag in self.BLOCKS:
            self._append("\n")
        if self.blocks and self.blocks[-1][0] == tag:
            self.blocks.pop()
            self._entered(self.blocks[-1][1] if self.blocks else 0)

    def handle_data(self, data):
        if not self.hidden:
            self._append(data)


def _read(document: str) -> _VisibleText:
    parser = _VisibleText()
    parser.feed(document)
    parser.close()
    return parser


def visible_text(document: str) -> str:
    """What a reader of an HTML (or SVG, or XML) document reads: its text, entities decoded,
    without styles and scripts, plus link targets, titles and alternative texts."""
    return re.sub(r"\n{3,}", "\n\n", "".join(_read(document).parts))

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
    as ``line L, column C (kind)`` (in a rendered draft: ``as rendered from
    line L of the draft``, see :class:`GateFinding`), never the text found.
    """
    roster = _as_roster(roster)
    findings = export_findings(text, roster)
    if html is not None:
        # Rendered with source lines (render_document_html(..., source_lines=True)): located by the draft's lines.
        rendered = _read(html)
        findings += export_findings("".join(rendered.parts), roster, "as rendered", rendered.source_lines)
    decoded = "\n".join(value for value in values if value)
    if decoded:
        findings += export_findings(decoded, roster, where="as decoded")
    if findings:
        raise ExportBlocked(findings)


def gate_series_export(db, series, text: str, *, html: str | None = None, values: Iterable[str] = ()) -> None:
    """:func:`export_gate` with ``series``' roster and kept terms: every download calls this first."""
    roster, _kept = roster_and_kept_terms(db, series)
    export_gate(text, roster, html=html, values=values)


def download_filename(db, series, suffix: str) -> str:
    """The file name a download is saved under: ``<slug>-<suffix>``, or ``series-<id>-<suffix>`` when the
    slug names someone on the roster who did not consent (it was chosen before the roster existed)."""
    roster, _kept = roster_and_kept_terms(db, series)
    name = f"{series.slug}-{suffix}"
    return f"series-{series.id}-{suffix}" if gated_spans(name, roster) else name


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
