"""The picture across sessions: how many notes each theme drew in each session.

``theme_session_counts`` reads accepted tags (a sub-theme's notes count for its
top-level theme unless ``level="sub"``) and keeps the top notes of every cell;
``heatmap_svg`` draws the table as a plain, accessible SVG (``<title>`` and
``<desc>``, labelled axes, the count written in each cell, a ``<title>`` per cell
listing its top notes for hover) for the page and for the brief.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from sqlalchemy import select

from roundtable.models import Note, NoteTag, Session, TagStatus, Theme
from roundtable.services.codebook import series_themes

TOP_NOTES = 3


@dataclass
class Heatmap:
    """Rows are themes, columns are sessions; ``counts[row][column]`` notes."""

    themes: list[str]
    sessions: list[int]
    counts: list[list[int]]
    session_titles: list[str] = field(default_factory=list)
    theme_ids: list[int] = field(default_factory=list)
    # (row, column) -> up to TOP_NOTES (note id, text), most confident first
    top_notes: dict = field(default_factory=dict)

    @property
    def max_count(self) -> int:
        return max((c for row in self.counts for c in row), default=0)

    def to_dict(self) -> dict:
        return {
            "themes": self.themes, "theme_ids": self.theme_ids, "sessions": self.sessions,
            "session_titles": self.session_titles, "counts": self.counts,
            "top_notes": {
                f"{r},{c}": [{"note_id": i, "text": t} for i, t in notes] for (r, c), notes in self.top_notes.items()
            },
        }


def theme_session_counts(db, series, level: str = "top", include_suggested: bool = False) -> Heatmap:
    """Count each theme's notes per session of a series (each note once per theme)."""
    series_id = series if isinstance(series, int) else series.id
    themes = series_themes(db, series_id)
    if level == "top":
        rows_themes = [t for t in themes if t.parent_id is None]
    else:  # sub-themes, and the themes that have none
        parents = {t.parent_id for t in themes if t.parent_id is not None}
        rows_themes = [t for t in themes if t.parent_id is not None or t.id not in parents]
    row_of: dict[int, int] = {}
    for i, theme in enumerate(rows_themes):
        row_of[theme.id] = i
    if level == "top":
        for theme in themes:
            if theme.parent_id is not None and theme.parent_id in row_of:
                row_of[theme.id] = row_of[theme.parent_id]
    sessions = db.execute(
        select(Session.id, Session.number, Session.title).where(Session.series_id == series_id).order_by(Session.number)
    ).all()
    col_of = {sid: j for j, (sid, _n, _t) in enumerate(sessions)}
    statuses = [TagStatus.ACCEPTED, TagStatus.SUGGESTED] if include_suggested else [TagStatus.ACCEPTED]
    tags = db.execute(
        select(NoteTag.theme_id, Note.id, Note.text, Note.session_id, NoteTag.confidence, NoteTag.source)
        .join(Note, Note.id == NoteTag.note_id)
        .join(Theme, Theme.id == NoteTag.theme_id)
        .where(Theme.series_id == series_id, Note.deleted_at.is_(None), NoteTag.status.in_(statuses))
        .order_by(Note.id)
    ).all()
    counts = [[0] * len(sessions) for _ in rows_themes]
    cells: dict[tuple, dict] = {}
    for theme_id, note_id, text, session_id, confidence, source in tags:
        row, col = row_of.get(theme_id), col_of.get(session_id)
        if row is None or col is None:
            continue
        cell = cells.setdefault((row, col), {})
        # Manual tags first, then the most confident; one entry per note.
        rank = (1.0 if source == "manual" else 0.0) + float(confidence)
        if note_id not in cell or cell[note_id][0] < rank:
            cell[note_id] = (rank, text)
    top_notes = {}
    for (row, col), notes in cells.items():
        counts[row][col] = len(notes)
        best = sorted(notes.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP_NOTES]
        top_notes[(row, col)] = [(note_id, text) for note_id, (_rank, text) in best]
    return Heatmap(
        themes=[t.name for t in rows_themes], theme_ids=[t.id for t in rows_themes],
        sessions=[n for _sid, n, _t in sessions], session_titles=[t or "" for _sid, _n, t in sessions],
        counts=counts, top_notes=top_notes,
    )


def _shade(value: int, maximum: int) -> tuple[str, str]:
    """Fill and text colour for a count: white to dark blue, text switching for contrast."""
    if maximum <= 0 or value <= 0:
        return "#FFFFFF", "#444444"
    t = value / maximum
    low, high = (239, 243, 255), (8, 48, 107)
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(low, high))
    return f"#{r:02X}{g:02X}{b:02X}", ("#FFFFFF" if t > 0.5 else "#111111")


# Characters XML 1.0 does not allow at all: dropped rather than escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(value) -> str:
    """Text or a double-quoted attribute value for the SVG: ``& < > " '`` escaped, non-XML characters dropped.

    Theme names are typed by facilitators; a quote left as it is would end the attribute and let
    the name add one (an event handler) to the downloaded SVG.
    """
    return escape(_NOT_XML.sub("", str(value)), {'"': "&quot;", "'": "&apos;"})


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def heatmap_svg(
    heatmap: Heatmap, title: str = "Notes per theme and session", cell: int = 44, link_cells: bool = False,
) -> str:
    """The heatmap as a standalone SVG string (no script, no external resources).

    ``link_cells`` makes each non-empty cell a link to ``#cell-ROW-COLUMN``, for a
    page that lists each cell's top notes under the chart.
    """
    label_width = max(120, min(320, 7 * max((len(t) for t in heatmap.themes), default=10) + 16))
    top = 56
    # Wide enough for the grid and for the title, which starts at the left edge.
    width = max(label_width + cell * max(1, len(heatmap.sessions)) + 16, 16 + int(8.4 * len(title)))
    height = top + cell * max(1, len(heatmap.themes)) + 40
    total = sum(sum(r) for r in heatmap.counts)
    busiest = ""
    if total:
        value, row, col = max(
            (c, i, j) for i, r in enumerate(heatmap.counts) for j, c in enumerate(r)
        )
        busiest = f" The largest cell is {heatmap.themes[row]} in session {heatmap.sessions[col]} with {value} notes."
    desc = (
        f"A table of {len(heatmap.themes)} themes (rows) by {len(heatmap.sessions)} sessions (columns); "
        f"each cell gives the number of notes tagged with the theme in that session, "
        f"darker meaning more. {total} tagged notes in all.{busiest}"
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="hm-title hm-desc" '
        f'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
        f'<title id="hm-title">{_xml(title)}</title>',
        f'<desc id="hm-desc">{_xml(desc)}</desc>',
        f'<rect width="{width}" height="{height}" fill="#FFFFFF"/>',
        f'<text x="8" y="18" font-size="13" font-weight="bold">{_xml(title)}</text>',
        f'<text x="{label_width}" y="{top - 22}" fill="#444444">Session</text>',
    ]
    for j, number in enumerate(heatmap.sessions):
        x = label_width + j * cell + cell / 2
        out.append(f'<text x="{x:.0f}" y="{top - 6}" text-anchor="middle">{number}</text>')
    maximum = heatmap.max_count
    for i, theme in enumerate(heatmap.themes):
        y = top + i * cell
        out.append(
            f'<text x="{label_width - 8}" y="{y + cell / 2 + 4:.0f}" text-anchor="end">{_xml(_clip(theme, 44))}</text>'
        )
        for j, number in enumerate(heatmap.sessions):
            value = heatmap.counts[i][j]
            fill, ink = _shade(value, maximum)
            x = label_width + j * cell
            notes = heatmap.top_notes.get((i, j), [])
            tip = f"{theme}, session {number}: {value} note{'s' if value != 1 else ''}"
            if notes:
                tip += "\n" + "\n".join(f"• {_clip(text, 120)}" for _id, text in notes)
            link = link_cells and value > 0
            out.append(
                (f'<a href="#cell-{i}-{j}">' if link else "")
                + f'<g class="cell" data-row="{i}" data-col="{j}" data-theme="{_xml(theme)}" data-session="{number}">'
                f'<title>{_xml(tip)}</title>'
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}" stroke="#CCCCCC"/>'
                f'<text x="{x + (cell - 2) / 2:.0f}" y="{y + cell / 2 + 3:.0f}" text-anchor="middle" fill="{ink}">'
                f'{value if value else ""}</text></g>'
                + ("</a>" if link else "")
            )
    out.append(
        f'<text x="{label_width}" y="{height - 12}" fill="#444444">Darker cells: more notes (most: {maximum}).</text>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"
